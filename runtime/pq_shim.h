// pq_shim: libpq, loaded when the first PostgreSQL store opens.
//
// Every aosrun process used to load libpq and its twenty-odd dependencies
// (Kerberos, LDAP, GnuTLS, ...) at start, about 3 ms of each approve, status
// and resume, while most data directories are the embedded store.
// runtime/pq_shim.cc defines the libpq functions the PostgreSQL store uses
// and forwards them to libpq.so.5, opened with dlopen on first use.
#pragma once

#include <string>

namespace aos {

// Empty when libpq is loaded (loading it if need be); otherwise why it
// could not be, naming the library.
std::string LibpqProblem();

}  // namespace aos
