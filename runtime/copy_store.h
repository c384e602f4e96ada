// Copying one store into another (`aosrun copy --from DIR --to URL`): every
// record of every column, byte for byte, so event records keep their CRCs
// and the copy is what the source was. The target must hold no records yet
// (a store's format marker aside): a copy never merges two stores. The
// copy is then read back as `aosrun verify` reads a store.
#ifndef AOS_RUNTIME_COPY_STORE_H_
#define AOS_RUNTIME_COPY_STORE_H_

#include <cstddef>
#include <functional>
#include <string>

#include "runtime/store.h"
#include "runtime/verify.h"

namespace aos {

struct CopyReport {
  std::string refused;  // why nothing was copied; "" when it was
  size_t records = 0;   // records copied, every column
  size_t bytes = 0;     // their keys and values
  VerifyReport verified;  // the target, read back
};

// Copies `from` into `to` in batches (synced at the end). `progress`, when
// given, is called now and then with the records copied so far.
CopyReport CopyStore(Store& from, Store& to, const std::function<void(size_t records)>& progress = nullptr);

}  // namespace aos

#endif  // AOS_RUNTIME_COPY_STORE_H_
