#include "runtime/open_store.h"

#include <unistd.h>

#include "runtime/pg_store.h"
#include "runtime/rocks_store.h"

namespace aos {

std::unique_ptr<Store> OpenStore(const std::string& where, bool create) {
  if (IsPgUrl(where)) return PgStore::Open(where, create);
  return RocksStore::Open(where, create);
}

std::unique_ptr<Store> OpenStoreToRead(const std::string& where) {
  if (IsPgUrl(where)) return PgStore::Open(where, false);
  return RocksStore::OpenReadOnly(where);
}

bool DataDirExists(const std::string& where) {
  return !IsPgUrl(where) && access((where + "/CURRENT").c_str(), F_OK) == 0;
}

}  // namespace aos
