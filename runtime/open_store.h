// Opening the store a command names: a data directory (RocksStore, the
// default: nothing to run) or a postgresql:// URL (PgStore, for several
// workers; docs/cluster.md). The tools hold a Store, not a concrete one.
#ifndef AOS_RUNTIME_OPEN_STORE_H_
#define AOS_RUNTIME_OPEN_STORE_H_

#include <memory>
#include <string>

#include "runtime/store.h"

namespace aos {

// Opens `where` (created when `create` and absent: a directory, or the
// tables of a database). Throws StoreError (StoreBusy: a data directory
// another process holds).
std::unique_ptr<Store> OpenStore(const std::string& where, bool create);
// A view for commands that only read, while another process holds a data
// directory (RocksStore::OpenReadOnly); a database is opened as usual.
std::unique_ptr<Store> OpenStoreToRead(const std::string& where);
// Whether `where` is a data directory that holds RocksDB's files (false for
// a URL: a database is only known by connecting).
bool DataDirExists(const std::string& where);

}  // namespace aos

#endif  // AOS_RUNTIME_OPEN_STORE_H_
