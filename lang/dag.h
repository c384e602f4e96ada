// Dag: a checked workflow lowered to its dependency graph, immutable after
// lowering. Nodes are statements (a `for` body's statements are children of
// the for node and are instantiated once per item at run time); edges come
// from references and `after`. The plan (ready sets) and the runtime's
// executor read it; nothing here does I/O.
#ifndef AOS_LANG_DAG_H_
#define AOS_LANG_DAG_H_

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "lang/ast.h"
#include "lang/ast_dump.h"
#include "lang/source.h"
#include "lang/types.h"

namespace aos {

struct Dep {
  uint32_t node;
  bool soft;  // only inside default()/coalesce(): a skip does not propagate
  Span at;    // where the reference (or the `after` name) is written
};

struct DagNode {
  // The statement's name (a view of Stmt::name); "output", or "fail@L:C"
  // (kept in Dag::made_names).
  std::string_view name;
  const Stmt* stmt = nullptr;
  std::vector<Dep> deps;    // nodes that must finish first (siblings or outer)
  TypePtr type;             // the result's type (any when unknown)
  int32_t parent = -1;      // the enclosing for node, or -1
  uint32_t group = 0;       // parallel group among its siblings, 0-based
  uint32_t body = UINT32_MAX;  // a for node's: its index in Dag::bodies
  bool secret = false;      // its value is derived from a secret
};

struct Dag {
  const WorkflowDecl* workflow = nullptr;
  const SourceFile* source = nullptr;
  std::vector<DagNode> nodes;
  // The top-level nodes in execution order (by group, then file order); a
  // for node's children are ordered the same way in `children`.
  std::vector<uint32_t> order;
  // The names of unnamed statements (DagNode::name views them).
  std::deque<std::string> made_names;
  // The for nodes' bodies (DagNode::body), ordered as `order` is.
  std::vector<std::vector<uint32_t>> bodies;

  // A for node's body; empty for the other nodes.
  const std::vector<uint32_t>& Children(uint32_t id) const;
  // The body of for node `id`, made when first asked (the checker).
  std::vector<uint32_t>& MutableChildren(uint32_t id);

  // A deterministic text form: one line per node, "name <- dep, dep".
  std::string Dump() const;
};

// Assigns groups and orders siblings. Precondition: no cycles among siblings.
void OrderDag(Dag& dag);

// Graphviz DOT: nodes labelled "kind name", for bodies as clusters.
std::string RenderDot(const Dag& dag);


}  // namespace aos

#endif  // AOS_LANG_DAG_H_
