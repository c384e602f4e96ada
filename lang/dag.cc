#include "lang/dag.h"

#include <algorithm>

namespace aos {

namespace {

// Orders `siblings` by longest path from a source (the group), then by file
// order; deps outside the sibling set are ignored (they finish before the
// parent starts).
std::vector<uint32_t> OrderSiblings(Dag& dag, std::vector<uint32_t> siblings, int32_t parent) {
  // Deps can point forward: Kahn's algorithm over the siblings alone, by
  // their index in `siblings` (sorted, so an id's index is a binary search),
  // with each one's users in one array (first[i] .. first[i + 1]): no table
  // the size of the whole DAG per for body, no list per node.
  std::sort(siblings.begin(), siblings.end());
  const size_t n = siblings.size();
  // Ids one after another (a top level without loops) index themselves.
  const bool dense = n == 0 || siblings.back() - siblings.front() + 1 == n;
  auto local = [&](uint32_t id) {
    if (dense) return id - siblings.front();
    return static_cast<uint32_t>(std::lower_bound(siblings.begin(), siblings.end(), id) - siblings.begin());
  };
  auto sibling_dep = [&](uint32_t self, const Dep& d) { return dag.nodes[d.node].parent == parent && d.node != self; };
  std::vector<uint32_t> indegree(n, 0), first(n + 1, 0);
  for (uint32_t i = 0; i < n; ++i) {
    for (const Dep& d : dag.nodes[siblings[i]].deps) {
      if (!sibling_dep(siblings[i], d)) continue;
      ++indegree[i];
      ++first[local(d.node) + 1];
    }
  }
  for (size_t i = 0; i < n; ++i) first[i + 1] += first[i];
  std::vector<uint32_t> users(first[n]), fill(first.begin(), first.end() - 1);
  for (uint32_t i = 0; i < n; ++i) {
    for (const Dep& d : dag.nodes[siblings[i]].deps) {
      if (sibling_dep(siblings[i], d)) users[fill[local(d.node)]++] = i;
    }
  }
  std::vector<uint32_t> ready, out;
  ready.reserve(n);
  out.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    dag.nodes[siblings[i]].group = 0;
    if (indegree[i] == 0) ready.push_back(i);
  }
  for (size_t next = 0; next < ready.size(); ++next) {
    const uint32_t i = ready[next];
    out.push_back(siblings[i]);
    const uint32_t group = dag.nodes[siblings[i]].group + 1;
    for (uint32_t k = first[i]; k < first[i + 1]; ++k) {
      const uint32_t u = users[k];
      dag.nodes[siblings[u]].group = std::max(dag.nodes[siblings[u]].group, group);
      if (--indegree[u] == 0) ready.push_back(u);
    }
  }
  auto before = [&](uint32_t a, uint32_t b) {
    if (dag.nodes[a].group != dag.nodes[b].group) {
      return dag.nodes[a].group < dag.nodes[b].group;
    }
    return a < b;
  };
  if (!std::is_sorted(out.begin(), out.end(), before)) std::stable_sort(out.begin(), out.end(), before);
  return out;
}

}  // namespace

void OrderDag(Dag& dag) {
  std::vector<uint32_t> top;
  for (uint32_t i = 0; i < dag.nodes.size(); ++i) {
    if (dag.nodes[i].parent < 0) top.push_back(i);
  }
  dag.order = OrderSiblings(dag, top, -1);
  for (uint32_t i = 0; i < dag.nodes.size(); ++i) {
    if (!dag.Children(i).empty()) {
      std::vector<uint32_t>& body = dag.MutableChildren(i);
      body = OrderSiblings(dag, body, static_cast<int32_t>(i));
    }
  }
}

const std::vector<uint32_t>& Dag::Children(uint32_t id) const {
  static const std::vector<uint32_t> none;
  const uint32_t b = nodes[id].body;
  return b < bodies.size() ? bodies[b] : none;
}

std::vector<uint32_t>& Dag::MutableChildren(uint32_t id) {
  if (nodes[id].body >= bodies.size()) {
    nodes[id].body = static_cast<uint32_t>(bodies.size());
    bodies.emplace_back();
  }
  return bodies[nodes[id].body];
}

std::string Dag::Dump() const {
  std::string out;
  auto dump = [&](auto& self, const std::vector<uint32_t>& ids, const std::string& indent)
      -> void {
    for (uint32_t id : ids) {
      const DagNode& n = nodes[id];
      out += indent + std::to_string(n.group) + " " + StmtKindName(n.stmt->kind) + " " +
             std::string(n.name);
      if (!n.deps.empty()) {
        out += " <-";
        for (size_t i = 0; i < n.deps.size(); ++i) {
          out += (i ? ", " : " ") + std::string(nodes[n.deps[i].node].name);
          if (n.deps[i].soft) out += "?";
        }
      }
      out += "\n";
      self(self, Children(id), indent + "  ");
    }
  };
  dump(dump, order, "");
  return out;
}

namespace {

std::string DotId(const Dag& dag, uint32_t id) { return "n" + std::to_string(id); }

std::string DotQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string RenderDot(const Dag& dag) {
  std::string out = "digraph " + DotQuote(dag.workflow->name) + " {\n";
  out += "  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n";
  auto emit_nodes = [&](auto& self, const std::vector<uint32_t>& ids,
                        const std::string& indent) -> void {
    for (uint32_t id : ids) {
      const DagNode& n = dag.nodes[id];
      const std::string kind = StmtKindName(n.stmt->kind);
      if (!dag.Children(id).empty() || n.stmt->kind == StmtKind::kFor) {
        out += indent + "subgraph cluster_" + std::to_string(id) + " {\n";
        out += indent + "  label=" + DotQuote("for " + std::string(n.stmt->loop().loop_var)) + ";\n";
        out += indent + "  " + DotId(dag, id) + " [label=" +
               DotQuote("for " + std::string(n.stmt->loop().loop_var)) + ", shape=diamond];\n";
        self(self, dag.Children(id), indent + "  ");
        out += indent + "}\n";
        continue;
      }
      std::string shape;
      if (n.stmt->kind == StmtKind::kEffect) shape = ", style=bold";
      if (n.stmt->kind == StmtKind::kApproval) shape = ", shape=octagon";
      if (n.stmt->kind == StmtKind::kWait || n.stmt->kind == StmtKind::kSignal) {
        shape = ", shape=ellipse";
      }
      const std::string label =
          n.stmt->kind == StmtKind::kOutput ? "output" : kind + " " + std::string(n.name);
      out += indent + DotId(dag, id) + " [label=" + DotQuote(label) + shape + "];\n";
    }
  };
  emit_nodes(emit_nodes, dag.order, "  ");
  for (uint32_t id = 0; id < dag.nodes.size(); ++id) {
    for (const Dep& d : dag.nodes[id].deps) {
      out += "  " + DotId(dag, d.node) + " -> " + DotId(dag, id) +
             (d.soft ? " [style=dashed]" : "") + ";\n";
    }
  }
  return out + "}\n";
}

}  // namespace aos
