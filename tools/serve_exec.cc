// `aosrun serve` in the aosrun executable: it becomes aosrun-serve, the
// same CLI with the HTTP server linked in, found beside it.
//
// aosrun is started for every approve, status and resume; the HTTP server
// library (cpp-httplib) and what it loads (OpenSSL's TLS, Brotli) cost each
// start about 2 ms, and only serve uses them. exec keeps the process id, so
// serve.json, signals and a supervisor see one process.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "tools/aosrun_cli.h"

namespace aosrun {

int CmdServe(Context& c) {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::filesystem::path serve = (ec ? std::filesystem::path() : self.parent_path()) / "aosrun-serve";
  if (c.argv) ::execv(serve.c_str(), c.argv);
  std::cerr << "aosrun: serve runs " << serve.string() << ", which could not be started: " << std::strerror(errno)
            << " (install aosrun-serve beside aosrun)\n";
  return kExitIo;
}

}  // namespace aosrun
