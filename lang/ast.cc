#include "lang/ast.h"

#include <algorithm>

namespace aos {

const Value Expr::kNullLiteral;

void ExprPool::SetArgs(Expr* e, ExprList args) {
  e->nargs_ = static_cast<uint32_t>(args.size());
  if (args.empty()) {
    e->ref_.args = nullptr;
    return;
  }
  if (left_ < args.size()) {
    // Blocks of 4,096 pointers (32 KiB), or one of its own for a longer list.
    const size_t n = std::max<size_t>(4096, args.size());
    blocks_.push_back(std::make_unique<Expr*[]>(n));
    free_ = blocks_.back().get();
    left_ = n;
  }
  std::copy(args.begin(), args.end(), free_);
  e->ref_.args = free_;
  free_ += args.size();
  left_ -= args.size();
}

}  // namespace aos
