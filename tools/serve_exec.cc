// `aosrun serve` in the aosrun executable: it becomes aosrun-serve, the
// same CLI with the HTTP server linked in, found beside it.
//
// aosrun is started for every approve, status and resume; the HTTP server
// library (cpp-httplib) and what it loads (OpenSSL's TLS, Brotli) cost each
// start about 2 ms, and only serve uses them. exec keeps the process id, so
// serve.json, signals and a supervisor see one process.
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "tools/aosrun_cli.h"

namespace aosrun {

int CmdServe(Context& c) {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    std::cerr << "aosrun: serve runs aosrun-serve beside aosrun, and this process cannot tell where it is "
                 "(/proc/self/exe: " << ec.message() << ")\n";
    return kExitIo;
  }
  const std::filesystem::path serve = self.parent_path() / "aosrun-serve";
  // Serve takes SIGTERM, SIGINT and SIGHUP on a thread of its own; blocked
  // from here (the mask survives exec), one sent while aosrun-serve starts
  // waits for that thread instead of killing the process.
  const sigset_t signals = ServeSignals();
  sigset_t before;
  sigprocmask(SIG_BLOCK, &signals, &before);
  ::execv(serve.c_str(), c.argv);
  const int error = errno;
  sigprocmask(SIG_SETMASK, &before, nullptr);
  std::cerr << "aosrun: serve runs " << serve.string() << ", which could not be started: " << std::strerror(error)
            << " (install aosrun-serve beside aosrun)\n";
  return kExitIo;
}

}  // namespace aosrun
