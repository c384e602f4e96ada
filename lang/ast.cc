#include "lang/ast.h"

#include <algorithm>

namespace aos {

const Value Expr::kNullLiteral;

template <typename T>
T* ExprPool::Arrays<T>::Put(std::span<const T> items) {
  if (items.empty()) return nullptr;
  if (left_ < items.size()) {
    const size_t n = std::max<size_t>(4096, items.size());
    blocks_.push_back(std::make_unique<T[]>(n));
    free_ = blocks_.back().get();
    left_ = n;
  }
  T* out = free_;
  std::copy(items.begin(), items.end(), out);
  free_ += items.size();
  left_ -= items.size();
  return out;
}

template class ExprPool::Arrays<Expr*>;
template class ExprPool::Arrays<std::string_view>;

}  // namespace aos
