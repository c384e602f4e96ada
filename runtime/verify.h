// Verify: `aosrun verify` as a runtime operation — every stored file's
// checksums, every run's events decoded in sequence, and the run index
// cross-checked against the events column, so that a damaged index cannot
// hide a run (a scan passes over a damaged file without a word).
#ifndef AOS_RUNTIME_VERIFY_H_
#define AOS_RUNTIME_VERIFY_H_

#include <cstddef>
#include <string>
#include <vector>

#include "runtime/store.h"

namespace aos {

struct VerifyReport {
  size_t runs = 0;    // runs found, in the index or in the events column
  size_t events = 0;  // events read
  std::vector<std::string> problems;  // one line each; empty: no problems
};

VerifyReport VerifyDataDir(Store& store);

}  // namespace aos

#endif  // AOS_RUNTIME_VERIFY_H_
