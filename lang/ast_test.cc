// ExprPool: where a module's expressions live.
#include "lang/ast.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "lang/parser.h"

namespace aos {
namespace {

TEST_CASE("an expression node is 56 bytes, literal and arguments sharing room") {
  STATIC_REQUIRE(sizeof(Expr) == 56);
  // A statement fits jemalloc's 128-byte class: what only some kinds have
  // is in side records (WaitParts, ForParts).
  STATIC_REQUIRE(sizeof(Stmt) <= 128);
  ExprPool pool;
  Expr* lit = pool.Literal(Span{0, 3}, Value::String(std::string(100, 'x')));  // on the heap
  REQUIRE(lit->literal().as_string().size() == 100);
  REQUIRE(lit->name().empty());
  REQUIRE(lit->args().empty());
  Expr* id = pool.New(ExprKind::kIdent, Span{4, 5});
  REQUIRE(id->literal().kind() == ValueKind::kNull);
  REQUIRE(id->args().empty());
}

TEST_CASE("argument lists are copied into the pool, long ones too, and stay put") {
  ExprPool pool;
  std::vector<Expr*> made;
  std::vector<Expr*> parents;
  // Lists that fill blocks (4,096 pointers each) and one longer than a block.
  for (size_t n : {3u, 4000u, 200u, 5000u, 1u}) {
    std::vector<Expr*> args;
    for (size_t i = 0; i < n; ++i) args.push_back(pool.Literal(Span{}, Value::Int(static_cast<int64_t>(i))));
    Expr* list = pool.New(ExprKind::kList, Span{});
    pool.SetArgs(list, args);
    args.assign(args.size(), nullptr);  // the pool keeps its own copy
    parents.push_back(list);
  }
  const std::vector<size_t> sizes{3, 4000, 200, 5000, 1};
  for (size_t p = 0; p < parents.size(); ++p) {
    REQUIRE(parents[p]->args().size() == sizes[p]);
    for (size_t i = 0; i < sizes[p]; ++i) REQUIRE(parents[p]->args()[i]->literal().as_int() == static_cast<int64_t>(i));
  }
}

TEST_CASE("a parsed expression's nodes live in its pool") {
  std::string error;
  OwnedExpr e = ParseExpression("f(a, [1, 'a long string that is not inline in std::string'], {k: b})", &error);
  REQUIRE(e);
  REQUIRE(e.pool != nullptr);
  REQUIRE(e->kind == ExprKind::kCall);
  REQUIRE(e->name() == "f");
  REQUIRE(e->args().size() == 3);
  REQUIRE(e->args()[1]->args()[1]->literal().as_string() == "a long string that is not inline in std::string");
  REQUIRE(e->args()[2]->args()[0]->literal().as_string() == "k");
  REQUIRE(e->args()[2]->args()[1]->name() == "b");
}

}  // namespace
}  // namespace aos
