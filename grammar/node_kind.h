// The kinds of node in the flat syntax tree the parser builds, and the tree
// itself. Free of PEGTL so that lang/ can walk trees without the grammar's
// templates.
//
// The tree is a preorder array: node i's children start at i + 1, and each
// child subtree spans `size` nodes. Nodes hold byte offsets into the source,
// never copies of it, so a 100,000-step workflow costs a few megabytes.
#ifndef AOS_GRAMMAR_NODE_KIND_H_
#define AOS_GRAMMAR_NODE_KIND_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace aos::grammar {

#define AOS_NODE_KINDS(X)                                                      \
  X(none) X(version_decl) X(import_decl) X(type_decl) X(entity_decl)           \
  X(connector_decl) X(agent_decl) X(workflow_decl) X(decl_name) X(field)       \
  X(trigger_decl) X(trg_schedule) X(trg_every) X(trg_timezone) X(trg_missed)   \
  X(trg_missed_policy) X(trg_webhook) X(trg_auth) X(trg_key) X(trg_start)      \
  X(trg_signal) X(trg_signal_to) X(trg_signal_with) X(trg_body)               \
  X(key_field) X(field_name) X(field_default) X(type_expr) X(type_name)        \
  X(list_type) X(map_type) X(optional_mark) X(setting) X(setting_key)          \
  X(output_setting) X(connector_kind) X(param) X(return_type)                  \
  X(expr) X(binop) X(cond_q) X(unary) X(prefix_op) X(ident) X(type_fn)         \
  X(member_suffix) X(index_suffix) X(call_suffix) X(arg) X(arg_name)           \
  X(list_lit) X(map_lit) X(map_entry) X(map_key_word) X(int_lit) X(uint_lit)   \
  X(double_lit) X(duration_lit) X(money_lit) X(true_lit) X(false_lit)          \
  X(null_lit) X(dq_string) X(sq_string) X(raw_chars) X(str_chars)              \
  X(escape_seq) X(interp) X(set_budget) X(set_concurrency) X(set_retry)        \
  X(set_on_failure) X(failure_policy) X(retry_spec) X(retry_count)             \
  X(backoff_base) X(backoff_factor) X(backoff_max) X(backoff_jitter)           \
  X(error_kind) X(call) X(call_name) X(mod_retry) X(mod_timeout) X(mod_cache)  \
  X(cache_ttl) X(mod_key) X(mod_compensate) X(mod_confirm) X(mod_escalate)     \
  X(mod_describe) X(stmt_name) X(when_clause) X(after_name) X(step_stmt)       \
  X(effect_stmt) X(approval_stmt) X(approval_ask) X(approval_show)             \
  X(approval_timeout) X(on_timeout_action) X(approval_returns)                 \
  X(approval_approvers) X(wait_stmt) X(wait_for) X(wait_until) X(signal_stmt)  \
  X(signal_event) X(signal_timeout) X(let_stmt) X(output_stmt) X(fail_stmt)    \
  X(for_stmt) X(loop_var) X(for_max) X(paren_expr) X(version_number)         \
  X(index_decl) X(index_field) X(ref_type)  \
  X(identity_field) X(transform_decl) X(transform_version) X(transform_result)   \
  X(body_field) X(body_field_name) X(migration_decl) X(migration_from)         \
  X(migration_to) X(migration_drop) X(drop_field) X(approval_explain) X(budget_period)

enum class NodeKind : uint16_t {
#define AOS_X(k) k,
  AOS_NODE_KINDS(AOS_X)
#undef AOS_X
};

const char* NodeKindName(NodeKind k);

// Where an opened construct began, for "expected '}' (to close ... at L:C)".
enum class open_kind : uint8_t { decl, stmt, string };

struct FlatNode {
  NodeKind kind;
  uint32_t begin;  // byte offset of the first character
  uint32_t end;    // byte offset one past the last character
  uint32_t size;   // nodes in this subtree, this one included
};

struct Opener {
  open_kind kind;
  uint32_t offset;
};

// One syntax error as the grammar reported it; lang/ turns it into a
// Diagnostic with a line and column.
struct SyntaxError {
  uint32_t offset;
  std::string message;
  const char* code;
  const char* hint;       // may be null
  bool has_opener;
  Opener opener;          // the construct this error fails to close
};

// Everything a parse produces and the scratch state the control needs.
// A stack of trivially copyable values whose push is a compare and a store:
// the control pushes a mark and often a node at the start of every tracked
// rule, millions of times in a large file, and std::vector's push_back was
// not inlined into the hundreds of control instantiations (a quarter of the
// parse went to the calls). Only truncating resizes are needed.
template <typename T>
class Stack {
 public:
  [[gnu::always_inline]] inline void push_back(const T& v) {
    if (size_ == buf_.size()) Grow();
    buf_[size_++] = v;
  }
  void pop_back() { --size_; }
  T& back() { return buf_[size_ - 1]; }
  const T& back() const { return buf_[size_ - 1]; }
  T& operator[](size_t i) { return buf_[i]; }
  const T& operator[](size_t i) const { return buf_[i]; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Truncates to n (n <= size()).
  void resize(size_t n) { size_ = n; }
  void reserve(size_t n) {
    if (buf_.size() < n) buf_.resize(n);
  }

 private:
  [[gnu::noinline]] void Grow() { buf_.resize(buf_.empty() ? 64 : buf_.size() * 2); }
  std::vector<T> buf_;
  size_t size_ = 0;
};

struct ParseState {
  explicit ParseState(std::string_view source) : src(source) {
    // Streaming keeps the tree to about one statement: a fixed start size
    // avoids regrowing it while the first statements are parsed.
    nodes.reserve(4096);
    marks.reserve(256);
  }
  std::string_view src;
  Stack<FlatNode> nodes;
  Stack<uint32_t> marks;           // nodes.size() at each active rule's start
  Stack<Opener> openers;           // constructs open at the current position
  std::vector<SyntaxError> errors;
  uint32_t depth = 0;              // current nesting depth (see nest<>)
  // Set by the control just before a commit point throws.
  const char* pending_code = nullptr;
  const char* pending_hint = nullptr;
  bool pending_closes = false;
  // Streaming: when a statement or setting of a workflow body has been
  // parsed, its nodes [first, nodes.size()) go to on_item and are dropped,
  // so the tree never holds more than one statement of a body at a time.
  // `workflow` is the node index of the workflow being parsed.
  void (*on_item)(ParseState& s, uint32_t workflow, uint32_t first, void* user) = nullptr;
  void* user = nullptr;
  uint32_t workflow = 0;
};

}  // namespace aos::grammar

#endif  // AOS_GRAMMAR_NODE_KIND_H_
