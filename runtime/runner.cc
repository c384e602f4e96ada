#include "runtime/runner.h"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include "lang/eval.h"
#include "lang/plan.h"
#include "runtime/codec.h"
#include "runtime/schema.h"

namespace aos {

namespace {

Value S(std::string s) { return Value::String(std::move(s)); }
Value M(ValueMap m) { return Value::MapOfUnique(std::move(m)); }

Value ErrorValue(const std::string& kind, const std::string& message, const std::string& step) {
  ValueMap m = {{S("kind"), S(kind)}, {S("message"), S(message)}};
  if (!step.empty()) m.emplace_back(S("step"), S(step));
  return M(std::move(m));
}

std::string StrOf(const Value* v) {
  return v && v->kind() == ValueKind::kString ? v->as_string() : "";
}

}  // namespace

// ====================================================================== Impl

struct Runner::Impl {
  RunLog& log;
  RunState& st;
  const Program& program;
  const Dag& dag;
  CallHandler& calls;
  Clock& clock;
  RunOptions opt;
  const WorkflowDecl& wf;

  // ---- static facts about the DAG, by node
  std::vector<std::vector<uint32_t>> members;  // by parent + 1
  std::vector<uint32_t> pos;                   // index among its siblings
  std::vector<std::vector<uint32_t>> dependents;  // sibling nodes that wait for it
  std::vector<int> sibling_deps;
  // Names visible in a scope (by parent + 1): the node, and for body names of
  // a member for loop, that for's node id with `body` set.
  struct NameRef {
    uint32_t node;        // the statement, or for a body name the loop at this level
    bool body;
    uint32_t target = 0;  // body names: the statement inside the loop (any depth)
  };
  std::vector<std::unordered_map<std::string, NameRef>> names;

  // ---- scopes: the top level and one per for item
  struct Scope {
    int32_t for_node = -1;
    int parent = -1;
    std::string suffix;
    const std::string* loop_var = nullptr;
    Value loop_value;
    std::vector<int> remaining;   // by member index
    std::vector<bool> finished;   // by member index
    int unfinished = 0;
    bool admitted = true;
    std::string for_inst;         // the owning for instance
  };
  std::vector<Scope> scopes;
  struct ForInfo {
    int scope = 0;                // the scope holding the for node
    uint32_t node = 0;
    std::vector<int> children;    // child scope per item
    int done = 0;
    size_t next_admit = 0;
    int active = 0;
    int64_t max = 0;              // 0: unbounded
  };
  std::unordered_map<std::string, ForInfo> fors;  // by for instance
  std::unordered_map<std::string, std::pair<int, uint32_t>> where;  // instance -> (scope, node)

  std::deque<std::pair<int, uint32_t>> ready;
  std::vector<std::pair<int, uint32_t>> blocked;
  std::deque<std::pair<int, uint32_t>> deferred;  // ready calls over the concurrency bound
  size_t finished_count = 0, total_count = 0;

  // ---- failure
  bool failing = false;
  Value fail_error;

  // ---- workers
  struct Job {
    std::string inst;
    int scope;
    uint32_t node;
    CallRequest req;
    int64_t started;
    std::string cache_key;  // set for `cache` statements: where the result goes
  };
  struct Done {
    Job job;
    CallResult result;
  };
  std::mutex mu;
  std::condition_variable cv_jobs, cv_done;
  std::deque<Job> jobs;
  std::deque<Done> done;
  std::vector<std::thread> workers;
  bool stopping = false;
  int async_started = 0;   // calls a handler took with Start
  int async_finished = 0;  // ... whose `done` has run
  int in_flight = 0;
  std::unordered_map<std::string, bool> dispatched;

  std::mt19937_64 rng{std::random_device{}()};
  bool redact_secrets = false;  // secret() evaluates to a placeholder
  // Every secret value secret() handed out in this process: masked in every
  // message the run records (RedactSecrets), whatever path it took there.
  std::set<std::string> secret_values;
  int64_t reserved_nanos = 0;   // budget held by model calls in flight
  std::unordered_map<std::string, int64_t> reserved;

  Impl(RunLog& l, const Program& p, const Dag& d, CallHandler& c, Clock& k, RunOptions o)
      : log(l), st(l.state()), program(p), dag(d), calls(c), clock(k), opt(std::move(o)),
        wf(*d.workflow) {
    if (opt.concurrency < 1) opt.concurrency = 1;
    if (wf.concurrency && *wf.concurrency > 0) opt.concurrency = static_cast<int>(*wf.concurrency);
    const size_t n = dag.nodes.size();
    members.resize(n + 1);
    names.resize(n + 1);
    pos.resize(n);
    dependents.resize(n);
    sibling_deps.assign(n, 0);
    for (uint32_t id : dag.order) {
      pos[id] = static_cast<uint32_t>(members[0].size());
      members[0].push_back(id);
    }
    for (uint32_t id = 0; id < n; ++id) {
      const DagNode& dn = dag.nodes[id];
      for (uint32_t c2 : dn.children) {
        pos[c2] = static_cast<uint32_t>(members[id + 1].size());
        members[id + 1].push_back(c2);
      }
    }
    for (uint32_t id = 0; id < n; ++id) {
      const DagNode& dn = dag.nodes[id];
      std::set<uint32_t> seen;
      for (const Dep& dep : dn.deps) {
        if (dag.nodes[dep.node].parent == dn.parent && seen.insert(dep.node).second) {
          dependents[dep.node].push_back(id);
          ++sibling_deps[id];
        }
      }
      auto& nm = names[dn.parent + 1];
      if (dn.stmt && !dn.stmt->name.empty()) nm[dn.stmt->name] = NameRef{id, false};
      if (dn.stmt && dn.stmt->kind == StmtKind::kFor) {
        // Every name inside the loop, however deep, is a (nested) list after it.
        std::vector<uint32_t> stack(dn.children.begin(), dn.children.end());
        while (!stack.empty()) {
          const uint32_t c2 = stack.back();
          stack.pop_back();
          const Stmt* cs = dag.nodes[c2].stmt;
          if (cs && !cs->name.empty()) nm.emplace(cs->name, NameRef{id, true, c2});
          for (uint32_t g : dag.nodes[c2].children) stack.push_back(g);
        }
      }
    }
  }

  ~Impl() { StopWorkers(); }

  std::string Key(int scope, uint32_t node) const { return dag.nodes[node].name + scopes[scope].suffix; }
  const Stmt& StmtOf(uint32_t node) const { return *dag.nodes[node].stmt; }

  // ------------------------------------------------------------ evaluation env
  class InstEnv : public Env {
   public:
    InstEnv(Impl& r, int scope, std::string inst) : r_(r), scope_(scope), inst_(std::move(inst)) {}

    Lookup Find(std::string_view name, Value* out) const override {
      const std::string n(name);
      for (int s = scope_; s >= 0; s = r_.scopes[s].parent) {
        const Scope& sc = r_.scopes[s];
        if (sc.loop_var && *sc.loop_var == n) {
          *out = sc.loop_value;
          return Lookup::kFound;
        }
        const auto& nm = r_.names[sc.for_node + 1];
        auto it = nm.find(n);
        if (it == nm.end()) continue;
        if (r_.dag.nodes[it->second.node].secret) touched_secret_ = true;
        if (!it->second.body) return r_.LookupInstance(s, it->second.node, out);
        // A body name seen from outside its loop: the list of its results.
        return r_.BodyList(s, it->second.node, it->second.target, out);
      }
      if (const Value* v = r_.st.inputs.Find(name)) {
        *out = *v;
        return Lookup::kFound;
      }
      return Lookup::kUnbound;
    }

    std::optional<Value> Nondeterministic(std::string_view fn, Span site) override {
      const std::string key = inst_ + "|" + std::string(fn) + "@" + std::to_string(site.begin);
      auto it = r_.st.nondet.find(key);
      if (it != r_.st.nondet.end()) return it->second;
      Value v;
      if (fn == "now") {
        v = Value::Time(Timestamp{r_.clock.NowNanos()});
      } else {
        std::uniform_int_distribution<uint64_t> d;
        uint64_t a = d(r_.rng), b = d(r_.rng);
        a = (a & 0xffffffffffff0fffull) | 0x0000000000004000ull;
        b = (b & 0x3fffffffffffffffull) | 0x8000000000000000ull;
        char buf[40];
        std::snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx",
                      static_cast<unsigned long long>(a >> 32),
                      static_cast<unsigned long long>((a >> 16) & 0xffff),
                      static_cast<unsigned long long>(a & 0xffff),
                      static_cast<unsigned long long>(b >> 48),
                      static_cast<unsigned long long>(b & 0xffffffffffffull));
        v = S(buf);
      }
      r_.log.Append(EventType::kNondeterministicValue, inst_,
                    M({{S("site"), S(key)}, {S("fn"), S(std::string(fn))}, {S("value"), v}}));
      return v;
    }

    std::optional<Value> EnvVar(std::string_view name) override {
      if (const Value* v = r_.st.env.Find(name)) return *v;
      return std::nullopt;
    }

    std::optional<Value> Secret(std::string_view name) override {
      touched_secret_ = true;
      if (r_.redact_secrets) return S("<secret " + std::string(name) + ">");
      const std::optional<std::string> v = LookupSecret(r_.opt.config, std::string(name));
      if (v) {
        if (!v->empty()) r_.secret_values.insert(*v);
        return S(*v);
      }
      if (r_.opt.placeholder_secrets) return S("<secret " + std::string(name) + ">");
      return std::nullopt;
    }

    // Whether this evaluation read secret() or a value derived from one.
    bool touched_secret() const { return touched_secret_; }

   private:
    Impl& r_;
    int scope_;
    std::string inst_;
    mutable bool touched_secret_ = false;
  };

  // The results of statement `target` inside loop `loop` (an instance in
  // scope s), in item order; a list of lists when it sits in a nested loop.
  // Skipped items are null.
  Env::Lookup BodyList(int s, uint32_t loop, uint32_t target, Value* out) {
    const std::string for_inst = Key(s, loop);
    if (const Instance* fi = st.Find(for_inst); fi && fi->status == InstStatus::kSkipped) {
      return Env::Lookup::kSkipped;  // the whole loop was skipped
    }
    auto f = fors.find(for_inst);
    if (f == fors.end()) return Env::Lookup::kUnknown;
    // The loop directly inside `loop` that holds target, if it is nested.
    uint32_t inner = target;
    while (dag.nodes[inner].parent != static_cast<int32_t>(loop)) {
      inner = static_cast<uint32_t>(dag.nodes[inner].parent);
    }
    ValueList items;
    for (int child : f->second.children) {
      Value v;
      const Env::Lookup l =
          inner == target ? LookupInstance(child, target, &v) : BodyList(child, inner, target, &v);
      items.push_back(l == Env::Lookup::kFound ? v : Value());
    }
    *out = Value::List(std::move(items));
    return Env::Lookup::kFound;
  }

  Env::Lookup LookupInstance(int scope, uint32_t node, Value* out) {
    const std::string key = Key(scope, node);
    const Instance* in = st.Find(key);
    if (!in) return Env::Lookup::kUnknown;
    if (in->status == InstStatus::kSkipped) return Env::Lookup::kSkipped;
    if (in->status != InstStatus::kDone) return Env::Lookup::kUnknown;
    const Stmt& s = StmtOf(node);
    if (s.kind == StmtKind::kLet && dag.nodes[node].secret) {
      // Values derived from secrets are never recorded: recompute.
      InstEnv env(*this, scope, key);
      EvalResult r = Evaluate(*s.value, env);
      if (!r.ok()) return Env::Lookup::kUnknown;
      *out = r.value();
      return Env::Lookup::kFound;
    }
    *out = in->result;
    return Env::Lookup::kFound;
  }

  EvalResult Eval(const Expr& e, int scope, const std::string& inst) {
    InstEnv env(*this, scope, inst);
    return EvalIn(e, env);
  }

  // Evaluate, with the message of an error withheld when the expression read
  // a secret: "int(): 'VALUE' is not an int" would quote it.
  static EvalResult EvalIn(const Expr& e, InstEnv& env) {
    EvalResult r = Evaluate(e, env);
    if (r.ok() || !env.touched_secret() || r.error().kind != "expr.error") return r;
    EvalError err = r.error();
    const size_t colon = err.message.find(": ");
    err.message = (colon == std::string::npos ? std::string() : err.message.substr(0, colon + 2)) +
                  "the message is withheld: the expression uses a value derived from secret()";
    return err;
  }

  // Masks every secret value handed out in this process (the second line of
  // defence behind EvalIn: values travel into messages by many paths).
  std::string RedactSecrets(std::string message) const {
    // Longest first: "admin123!" before "admin", or the rest would show.
    std::vector<const std::string*> values;
    for (const std::string& v : secret_values) values.push_back(&v);
    std::sort(values.begin(), values.end(), [](auto* a, auto* b) { return a->size() > b->size(); });
    for (const std::string* vp : values) {
      const std::string& v = *vp;
      for (size_t at = message.find(v); at != std::string::npos; at = message.find(v, at + 8)) {
        message.replace(at, v.size(), "[secret]");
      }
    }
    return message;
  }

  // ------------------------------------------------------------ scopes
  int NewScope(int parent, int32_t for_node, std::string suffix) {
    Scope sc;
    sc.parent = parent;
    sc.for_node = for_node;
    sc.suffix = std::move(suffix);
    const auto& mem = members[for_node + 1];
    sc.remaining.resize(mem.size());
    sc.finished.assign(mem.size(), false);
    sc.unfinished = static_cast<int>(mem.size());
    for (size_t i = 0; i < mem.size(); ++i) sc.remaining[i] = sibling_deps[mem[i]];
    scopes.push_back(std::move(sc));
    const int id = static_cast<int>(scopes.size()) - 1;
    total_count += mem.size();
    return id;
  }

  // Marks finished members (from the state), expands loops that were
  // expanded before, and queues the ready members when the scope is admitted.
  void Populate(int s) {
    const auto mem = members[scopes[s].for_node + 1];
    for (uint32_t m : mem) {
      const Instance* in = st.Find(Key(s, m));
      if (!in) continue;
      if (StmtOf(m).kind == StmtKind::kFor && in->expanded) Expand(s, m);
      if (in->status == InstStatus::kDone || in->status == InstStatus::kSkipped) {
        MarkFinished(s, m, /*queue=*/false);
      }
    }
    if (scopes[s].admitted) QueueReady(s);
  }

  void QueueReady(int s) {
    for (uint32_t m : members[scopes[s].for_node + 1]) {
      const size_t i = pos[m];
      if (!scopes[s].finished[i] && scopes[s].remaining[i] == 0) ready.emplace_back(s, m);
    }
  }

  void MarkFinished(int s, uint32_t node, bool queue) {
    Scope& sc = scopes[s];
    const size_t i = pos[node];
    if (sc.finished[i]) return;
    sc.finished[i] = true;
    --sc.unfinished;
    ++finished_count;
    for (uint32_t d : dependents[node]) {
      if (--scopes[s].remaining[pos[d]] == 0 && queue && scopes[s].admitted &&
          !scopes[s].finished[pos[d]]) {
        ready.emplace_back(s, d);
      }
    }
    if (queue && opt.progress) opt.progress(finished_count, total_count, Key(s, node));
    if (scopes[s].unfinished == 0 && scopes[s].for_node >= 0 && queue) ScopeDone(s);
  }

  // A loop item finished while running: admit the next, and complete the
  // loop with its last item.
  void ScopeDone(int s) {
    auto it = fors.find(scopes[s].for_inst);
    if (it == fors.end()) return;
    ForInfo& f = it->second;
    ++f.done;
    if (scopes[s].admitted) --f.active;
    AdmitMore(f);
    if (f.done == static_cast<int>(f.children.size())) {
      const std::string key = scopes[s].for_inst;
      const Instance* in = st.Find(key);
      if (!in || in->status != InstStatus::kDone) {
        log.Append(EventType::kStepCompleted, key, M({{S("result"), Value()}}));
      }
      MarkFinished(f.scope, f.node, true);
    }
  }

  // Admits items in order while fewer than `max` admitted ones are
  // unfinished, queueing their ready members; finished items need no slot.
  void AdmitMore(ForInfo& f) {
    while (f.next_admit < f.children.size()) {
      const int c = f.children[f.next_admit];
      const bool finished = scopes[c].unfinished == 0;
      if (!finished && f.max != 0 && f.active >= f.max) break;
      ++f.next_admit;
      scopes[c].admitted = true;
      if (finished) continue;
      ++f.active;
      QueueReady(c);
    }
  }

  // Creates the child scopes of for instance (s, node) from its recorded
  // items, marks what already finished in them (a resumed run), and admits
  // the first items.
  void Expand(int s, uint32_t node) {
    const std::string key = Key(s, node);
    if (fors.count(key)) return;
    const Instance& in = st.At(key);
    const Stmt& stmt = StmtOf(node);
    ForInfo f;
    f.scope = s;
    f.node = node;
    f.max = stmt.max_parallel.value_or(0);
    const ValueList empty;
    const ValueList& items = in.items.kind() == ValueKind::kList ? in.items.as_list() : empty;
    for (size_t i = 0; i < items.size(); ++i) {
      const int c = NewScope(s, static_cast<int32_t>(node), scopes[s].suffix + "[" + std::to_string(i) + "]");
      scopes[c].loop_var = &stmt.loop_var;
      scopes[c].loop_value = items[i];
      scopes[c].admitted = false;
      scopes[c].for_inst = key;
      f.children.push_back(c);
    }
    fors[key] = std::move(f);
    const std::vector<int> children = fors[key].children;
    for (int c : children) Populate(c);  // not admitted yet: nothing is queued
    ForInfo& fi = fors[key];
    for (int c : children) fi.done += scopes[c].unfinished == 0;
    AdmitMore(fi);
  }

  // ------------------------------------------------------------ advancing
  void Skip(int s, uint32_t node, const std::string& key) {
    log.Append(EventType::kStepSkipped, key, Value());
    MarkFinished(s, node, true);
  }

  void Complete(int s, uint32_t node, const std::string& key, Value result) {
    const Stmt& stmt = StmtOf(node);
    if (TooDeep(key, result)) return;
    Value recorded = (stmt.kind == StmtKind::kLet && dag.nodes[node].secret) ? Value() : result;
    log.Append(EventType::kStepCompleted, key, M({{S("result"), std::move(recorded)}}));
    MarkFinished(s, node, true);
  }

  // One depth limit everywhere (value.h): a value that would be stored
  // deeper fails its statement rather than write an unreadable event.
  static std::string TooDeepMessage(const std::string& key) {
    return "the value of " + key + " is nested more than " + std::to_string(kMaxValueDepth) + " levels deep";
  }
  bool TooDeep(const std::string& key, const Value& v) {
    if (!DeeperThan(v, kMaxValueDepth)) return false;
    FailStep(key, "expr.error", TooDeepMessage(key));
    return true;
  }

  void FailStep(const std::string& key, const std::string& kind, const std::string& raw_message) {
    const std::string message = RedactSecrets(raw_message);
    log.Append(EventType::kStepFailed, key, M({{S("kind"), S(kind)}, {S("message"), S(message)}}));
    if (!failing) {
      failing = true;
      fail_error = ErrorValue(kind, message, key);
    }
  }

  void Block(int s, uint32_t node) { blocked.emplace_back(s, node); }

  // Whether the statement must be skipped or fails before it starts.
  // Returns true when it was settled (skipped or failed).
  static bool Mentions(const Expr& e, const std::string& name) {
    if (e.kind == ExprKind::kIdent && e.name == name) return true;
    for (const auto& a : e.args) {
      if (a && Mentions(*a, name)) return true;
    }
    return false;
  }

  // The instance of dependency `dep` seen from scope s: the sibling in s, or
  // the one in the enclosing scope that holds it.
  const Instance* DepInstance(int s, uint32_t dep) {
    int ds = s;
    while (ds >= 0 && scopes[ds].for_node != dag.nodes[dep].parent) ds = scopes[ds].parent;
    if (ds < 0) return nullptr;
    return st.Find(Key(ds, dep));
  }

  // A loop waits for what its body refers to outside it (the checker lifts
  // those references onto the loop), but only its own expression, `when`
  // and `after` decide whether the loop itself is skipped: a body statement
  // that refers to a skipped statement is skipped per item.
  bool LiftedFromBody(const Stmt& stmt, const Dep& dep) const {
    if (stmt.kind != StmtKind::kFor) return false;
    for (const auto& b : stmt.body) {
      if (dep.at.begin >= b->span.begin && dep.at.end <= b->span.end) return true;
    }
    return false;
  }

  bool PreCheck(int s, uint32_t node, const std::string& key) {
    const Stmt& stmt = StmtOf(node);
    // A skip propagates first, whatever else the statement depends on.
    for (const Dep& dep : dag.nodes[node].deps) {
      if (LiftedFromBody(stmt, dep)) continue;
      const Instance* d = DepInstance(s, dep.node);
      if (d && d->status == InstStatus::kSkipped && !dep.soft) {
        Skip(s, node, key);
        return true;
      }
    }
    // A rejection stops the statements that would act on it (calls, gates)
    // unless their `when` decides on it; values (let, output) may read it.
    const bool acts = stmt.kind == StmtKind::kStep || stmt.kind == StmtKind::kEffect ||
                      stmt.kind == StmtKind::kApproval || stmt.kind == StmtKind::kWait ||
                      stmt.kind == StmtKind::kSignal;
    for (const Dep& dep : dag.nodes[node].deps) {
      if (!acts || StmtOf(dep.node).kind != StmtKind::kApproval) continue;
      const Instance* d = DepInstance(s, dep.node);
      if (!d || d->status != InstStatus::kDone) continue;
      const std::string& name = StmtOf(dep.node).name;
      if (stmt.when && Mentions(*stmt.when, name)) continue;
      const Value* ap = d->result.Find("approved");
      if (ap && ap->kind() == ValueKind::kBool && !ap->as_bool()) {
        FailStep(key, "approval.rejected",
                 name + " was rejected (use `when " + name + ".approved` to run only on approval)");
        return true;
      }
    }
    if (stmt.when) {
      EvalResult r = Eval(*stmt.when, s, key);
      if (!r.ok()) {
        if (r.error().kind == "expr.skipped") {
          Skip(s, node, key);
        } else {
          FailStep(key, "expr.error", "when: " + r.error().message);
        }
        return true;
      }
      if (r.value().kind() != ValueKind::kBool) {
        FailStep(key, "expr.error", "when: the condition is " + std::string(KindName(r.value().kind())) +
                                        ", not bool");
        return true;
      }
      if (!r.value().as_bool()) {
        Skip(s, node, key);
        return true;
      }
    }
    return false;
  }

  bool EvalOrFail(const Expr& e, int s, const std::string& key, Value* out, const char* what,
                  uint32_t node) {
    EvalResult r = Eval(e, s, key);
    if (r.ok()) {
      *out = std::move(r.value());
      return true;
    }
    if (r.error().kind == "expr.skipped") {
      Skip(s, node, key);
      return false;
    }
    FailStep(key, "expr.error", std::string(what) + ": " + r.error().message);
    return false;
  }

  void Advance(int s, uint32_t node) {
    const std::string key = Key(s, node);
    Instance& in = st.At(key);
    if (in.status == InstStatus::kDone || in.status == InstStatus::kSkipped) {
      MarkFinished(s, node, true);
      return;
    }
    if (in.status == InstStatus::kFailed) return;
    const Stmt& stmt = StmtOf(node);
    if (in.status == InstStatus::kPending && PreCheck(s, node, key)) return;
    Value v;
    switch (stmt.kind) {
      case StmtKind::kLet:
      case StmtKind::kOutput:
        if (EvalOrFail(*stmt.value, s, key, &v, stmt.kind == StmtKind::kLet ? "let" : "output", node)) {
          Complete(s, node, key, std::move(v));
        }
        return;
      case StmtKind::kFail:
        if (EvalOrFail(*stmt.value, s, key, &v, "fail", node)) {
          FailStep(key, "fail", v.ToDisplayString());
        }
        return;
      case StmtKind::kFor:
        return AdvanceFor(s, node, key, in);
      case StmtKind::kApproval:
        return AdvanceApproval(s, node, key, in);
      case StmtKind::kWait:
        return AdvanceWait(s, node, key, in);
      case StmtKind::kSignal:
        return AdvanceSignal(s, node, key, in);
      case StmtKind::kStep:
      case StmtKind::kEffect:
        return AdvanceCall(s, node, key, in);
    }
  }

  void AdvanceFor(int s, uint32_t node, const std::string& key, Instance& in) {
    const Stmt& stmt = StmtOf(node);
    if (!in.expanded) {
      Value items;
      if (!EvalOrFail(*stmt.value, s, key, &items, "for", node)) return;
      if (items.kind() == ValueKind::kNull) items = Value::List({});
      if (items.kind() != ValueKind::kList) {
        FailStep(key, "expr.error", "for: the loop runs over a list, not a " +
                                        std::string(KindName(items.kind())));
        return;
      }
      log.Append(EventType::kStepScheduled, key, M({{S("items"), items}}));
    }
    Expand(s, node);
    ForInfo& f = fors[key];
    if (f.children.empty() || f.done == static_cast<int>(f.children.size())) {
      if (st.At(key).status != InstStatus::kDone) {
        log.Append(EventType::kStepCompleted, key, M({{S("result"), Value()}}));
      }
      MarkFinished(s, node, true);
    }
  }

  // ---- approvals (the statement, an effect's confirm gate, escalations)
  void RequestApproval(const std::string& key, const std::string& purpose, const std::string& ask,
                       const Value& payload, int64_t due, const std::string& on_timeout,
                       const Value& approvers = Value()) {
    const std::string hash = Digest(EncodeValue(payload));
    ValueMap m = {{S("purpose"), S(purpose)},
                  {S("ask"), S(ask)},
                  {S("payload"), payload},
                  {S("payload_hash"), S(hash)}};
    if (due) m.emplace_back(S("due"), Value::Int(due));
    if (!on_timeout.empty()) m.emplace_back(S("on_timeout"), S(on_timeout));
    // Who may decide (`approvers [...]`): aosrun approve --as checks it.
    if (approvers.kind() == ValueKind::kList) m.emplace_back(S("approvers"), approvers);
    log.Append(EventType::kApprovalRequested, key, M(std::move(m)));
  }

  // Times out an undecided approval when its due time has passed; true when
  // a decision now exists.
  bool TimeoutApproval(const std::string& key, Instance& in) {
    const Value* due = in.request.Find("due");
    if (!due || due->kind() != ValueKind::kInt || clock.NowNanos() < due->as_int()) return false;
    const std::string on = StrOf(in.request.Find("on_timeout"));
    if (on == "approve" || on == "reject") {
      log.Append(EventType::kApprovalDecided, key,
                 M({{S("approved"), Value::Bool(on == "approve")},
                    {S("by"), S("timeout")},
                    {S("at"), Value::Time(Timestamp{clock.NowNanos()})},
                    {S("comment"), S("no decision before the timeout")},
                    {S("data"), Value()},
                    {S("payload_hash"), *in.request.Find("payload_hash")}}));
      return true;
    }
    if (on == "escalate") {
      // Overdue: the request stays open, marked escalated and without a
      // deadline, at the top of the operator's inbox, until someone decides.
      RequestApproval(key, StrOf(in.request.Find("purpose")),
                      "[overdue since " + FormatTimestamp(Timestamp{due->as_int()}) + "] " +
                          StrOf(in.request.Find("ask")),
                      in.request.Find("payload") ? *in.request.Find("payload") : Value(), 0, "",
                      in.request.Find("approvers") ? *in.request.Find("approvers") : Value());
      return false;
    }
    FailStep(key, "approval.timeout", key + " had no decision before its timeout");
    return false;
  }

  static Value DecisionResult(const Instance& in) {
    const Value& d = in.decision;
    auto f = [&](const char* k) { return d.Find(k) ? *d.Find(k) : Value(); };
    return M({{S("approved"), f("approved")},
              {S("by"), f("by")},
              {S("at"), f("at")},
              {S("comment"), f("comment").is_null() ? S("") : f("comment")},
              {S("data"), f("data")}});
  }

  void AdvanceApproval(int s, uint32_t node, const std::string& key, Instance& in) {
    const Stmt& stmt = StmtOf(node);
    if (!in.requested) {
      Value ask, payload, timeout;
      if (!EvalOrFail(*stmt.ask, s, key, &ask, "ask", node)) return;
      if (stmt.show && !EvalOrFail(*stmt.show, s, key, &payload, "show", node)) return;
      int64_t due = 0;
      if (stmt.timeout) {
        if (!EvalOrFail(*stmt.timeout, s, key, &timeout, "timeout", node)) return;
        if (timeout.kind() == ValueKind::kDuration) due = clock.NowNanos() + timeout.as_duration().nanos;
      }
      Value approvers;
      if (stmt.approvers && !EvalOrFail(*stmt.approvers, s, key, &approvers, "approvers", node)) return;
      RequestApproval(key, "approval", ask.ToDisplayString(), payload, due,
                      stmt.on_timeout.empty() ? "reject" : stmt.on_timeout, approvers);
    }
    Instance& i2 = st.At(key);
    if (!i2.decided && !TimeoutApproval(key, i2)) {
      if (st.At(key).status != InstStatus::kFailed) Block(s, node);
      return;
    }
    Complete(s, node, key, DecisionResult(st.At(key)));
  }

  void AdvanceWait(int s, uint32_t node, const std::string& key, Instance& in) {
    const Stmt& stmt = StmtOf(node);
    if (!in.timer) {
      Value v;
      int64_t due = 0;
      if (stmt.wait_for) {
        if (!EvalOrFail(*stmt.wait_for, s, key, &v, "wait for", node)) return;
        if (v.kind() != ValueKind::kDuration) {
          FailStep(key, "expr.error", "wait for: not a duration");
          return;
        }
        due = clock.NowNanos() + v.as_duration().nanos;
      } else if (stmt.wait_until) {
        if (!EvalOrFail(*stmt.wait_until, s, key, &v, "wait until", node)) return;
        if (v.kind() != ValueKind::kTimestamp) {
          FailStep(key, "expr.error", "wait until: not a time");
          return;
        }
        due = v.as_time().nanos;
      }
      log.Append(EventType::kTimerStarted, key, M({{S("due"), Value::Int(due)}}));
    }
    const int64_t due = st.At(key).due;
    if (clock.NowNanos() < due) {
      Block(s, node);
      return;
    }
    log.Append(EventType::kTimerFired, key, Value());
    Complete(s, node, key, M({{S("at"), Value::Time(Timestamp{due})}}));
  }

  static std::string SignalName(const Stmt& stmt) { return stmt.event.empty() ? stmt.name : stmt.event; }

  void AdvanceSignal(int s, uint32_t node, const std::string& key, Instance& in) {
    const Stmt& stmt = StmtOf(node);
    // Each waiting statement takes the next signal of its name that no
    // other has taken (statements in a loop get one each, in the order they
    // reach it); a signal delivered early waits for its statement.
    for (const std::string& name : {SignalName(stmt), stmt.name}) {
      auto it = st.signals.find(name);
      const size_t taken = st.signals_taken.count(name) ? st.signals_taken.at(name) : 0;
      if (it != st.signals.end() && it->second.size() > taken) {
        log.Append(EventType::kStepCompleted, key, M({{S("result"), it->second[taken]}, {S("signal"), S(name)}}));
        MarkFinished(s, node, true);
        return;
      }
    }
    if (stmt.timeout && !in.timer) {
      Value v;
      if (!EvalOrFail(*stmt.timeout, s, key, &v, "timeout", node)) return;
      if (v.kind() == ValueKind::kDuration) {
        log.Append(EventType::kTimerStarted, key,
                   M({{S("due"), Value::Int(clock.NowNanos() + v.as_duration().nanos)}}));
      }
    }
    const Instance& i2 = st.At(key);
    if (i2.timer && clock.NowNanos() >= i2.due) {
      if (stmt.on_timeout == "null") {
        Complete(s, node, key, Value());  // `on_timeout null`: the run goes on without it
        return;
      }
      FailStep(key, "signal.timeout", "signal " + SignalName(stmt) + " did not arrive in time");
      return;
    }
    Block(s, node);
  }

  // ------------------------------------------------------------ calls
  struct Resolved {
    std::string ns, method;
    const ConnectorDecl* connector = nullptr;
    const AgentDecl* agent = nullptr;
    const TypeDecl* entity = nullptr;
  };

  // ---- budgets (language.md §7)
  // The workflow's budget in billionths, or -1 without one.
  int64_t BudgetNanos() const {
    if (!wf.budget || wf.budget->kind != ExprKind::kLiteral || wf.budget->literal.kind() != ValueKind::kMoney) {
      return -1;
    }
    return wf.budget->literal.as_money().nanos;
  }

  // A model call's cost before it is made: its prompt at four characters a
  // token, and max_tokens (or 1,024) of answer, at the config's prices.
  static int64_t SatAdd(int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
  }

  int64_t EstimateNanos(const CallRequest& req) const {
    if (!opt.config) return 0;
    const std::string model = StrOf(req.args.Find("model"));
    auto it = opt.config->models.find(model);
    if (it == opt.config->models.end()) return 0;
    const double in_tokens =
        static_cast<double>(StrOf(req.args.Find("system")).size() + StrOf(req.args.Find("prompt")).size()) / 4 + 1;
    const Value* mt = req.args.Find("max_tokens");
    double out_tokens = mt && mt->kind() == ValueKind::kInt ? static_cast<double>(mt->as_int()) : 1024;
    if (!(out_tokens >= 0)) out_tokens = 1024;  // a negative max_tokens estimates as the default
    const double units = (in_tokens * it->second.input_per_mtok + out_tokens * it->second.output_per_mtok) / 1e6;
    const double nanos = units * 1e9;
    // Out of range (absurd max_tokens): as much as can be said, never less.
    return nanos >= 9.2e18 || nanos != nanos ? INT64_MAX / 4 : static_cast<int64_t>(nanos);
  }

  // Whether the model call may start: spending so far plus its estimate
  // within the budget. Past it, the call waits for the operator (approve
  // raises the budget by its original amount; reject fails the call with
  // budget.exceeded).
  bool BudgetAllows(int s, uint32_t node, const std::string& key, const CallRequest& req) {
    const int64_t budget = BudgetNanos();
    if (budget < 0) return true;
    const int64_t est = EstimateNanos(req);
    const int64_t cap = SatAdd(budget, st.budget_raised_nanos);
    if (SatAdd(SatAdd(st.spent_nanos, reserved_nanos), est) <= cap) return true;
    const Instance& in = st.At(key);
    const bool asked = in.requested && StrOf(in.request.Find("purpose")) == "budget";
    if (asked && !in.decided) {
      Block(s, node);
      return false;
    }
    if (asked && in.decided) {
      const Value* ap = in.decision.Find("approved");
      if (!ap || ap->kind() != ValueKind::kBool || !ap->as_bool()) {
        FailStep(key, "budget.exceeded", "the model call would exceed the workflow's budget, and the raise was refused");
        return false;
      }
    }
    const std::string cur = wf.budget->literal.as_money().currency;
    auto money = [&](int64_t n) { return FormatMoneyAmount(Money{n, cur}) + " " + cur; };
    RequestApproval(key, "budget",
                    "Model call " + key + " would bring spending to about " + money(st.spent_nanos + est) +
                        ", over the budget of " + money(cap) + ". Approve to raise the budget by " + money(budget) +
                        ", or reject to fail the call (budget.exceeded).",
                    M({{S("spent"), Value::MoneyOf(Money{st.spent_nanos, cur})},
                       {S("estimate"), Value::MoneyOf(Money{est, cur})},
                       {S("budget"), Value::MoneyOf(Money{cap, cur})},
                       {S("raise_by"), Value::MoneyOf(Money{budget, cur})}}),
                    0, "");
    Block(s, node);
    return false;
  }

  // ---- the cache modifier and the inference cache (runtime.md §7)
  // Not a security boundary: a 64-bit digest (docs/runtime.md). For model
  // calls the resolved endpoint and model id take part, so that changing
  // the config does not answer from another model's entries.
  std::string CacheKey(const CallRequest& req) const {
    std::string model;
    if (req.kind == "llm" && opt.config) {
      auto it = opt.config->models.find(StrOf(req.args.Find("model")));
      if (it != opt.config->models.end()) model = it->second.base_url + "\n" + it->second.model;
    }
    return Digest(req.kind + "\n" + req.callee + "\n" + model + "\n" + EncodeValue(req.args));
  }

  // A hit is recorded as a completion marked `cache: hit`, with zero cost.
  void CacheHit(int s, uint32_t node, const std::string& key, const CallRequest& req, Value value) {
    ValueMap usage;
    if (req.kind == "llm" && value.kind() == ValueKind::kMap) {
      ValueMap m = value.as_map();
      std::string currency = "usd";
      for (auto& [k, v] : m) {
        if (k.kind() == ValueKind::kString && k.as_string() == "cost" && v.kind() == ValueKind::kMoney) {
          currency = v.as_money().currency;
          v = Value::MoneyOf(Money{0, currency});
        }
      }
      value = Value::MapOfUnique(std::move(m));
      usage = {{S("model"), value.Find("model") ? *value.Find("model") : Value()},
               {S("tokens_in"), Value::Int(0)},
               {S("tokens_out"), Value::Int(0)},
               {S("cost"), Value::MoneyOf(Money{0, currency})}};
    }
    ValueMap f = {{S("result"), value}, {S("cache"), S("hit")}};
    if (!usage.empty()) f.emplace_back(S("usage"), M(std::move(usage)));
    log.Append(EventType::kStepCompleted, key, M(std::move(f)));
    MarkFinished(s, node, true);
  }

  // On a fresh result of a `cache` statement: keep it for the TTL (default
  // one day), written with the step's completion.
  void CacheStore(uint32_t node, const std::string& cache_key, const Value& value) {
    const Modifier* cm = StmtOf(node).FindModifier(ModifierKind::kCache);
    if (cache_key.empty() || !cm) return;
    const int64_t ttl = cm->ttl ? cm->ttl->nanos : 24LL * 3600 * 1'000'000'000;
    log.batch().Put(Column::kCache, cache_key,
                    EncodeValue(M({{S("value"), value},
                                   {S("expires"), Value::Int(clock.NowNanos() + ttl)},
                                   {S("at"), Value::Int(clock.NowNanos())}})));
  }

  static const TypeRef* AgentOutput(const AgentDecl& agent) {
    for (const auto& setting : agent.settings) {
      if (setting.key == "output" && setting.type) return setting.type.get();
    }
    return nullptr;
  }

  // A typed agent's answer must fit its output type: a mismatch is an
  // llm.schema failure (retried by default, with the mismatch fed back).
  void CheckTypedAnswer(uint32_t node, CallResult& r) {
    const Stmt& stmt = StmtOf(node);
    if (!r.ok || !stmt.call) return;
    const Resolved k = Resolve(*stmt.call);
    const TypeRef* out = k.agent ? AgentOutput(*k.agent) : nullptr;
    if (!out) return;
    const Value* data = r.value.Find("data");
    Value fixed;
    const std::string err = CheckValue(program, out, data ? *data : Value(), &fixed);
    if (!err.empty()) {
      r.ok = false;
      r.error_kind = "llm.schema";
      r.message = "the answer does not match " + out->name + ": " + err;
      return;
    }
    ValueMap m = r.value.as_map();
    for (auto& [key, v] : m) {
      if (key.kind() == ValueKind::kString && key.as_string() == "data") v = fixed;
    }
    r.value = Value::MapOfUnique(std::move(m));
  }

  Resolved Resolve(const Call& call) const {
    Resolved r;
    const size_t dot = call.callee.find('.');
    r.ns = call.callee.substr(0, dot);
    r.method = dot == std::string::npos ? "" : call.callee.substr(dot + 1);
    if (auto it = program.connectors.find(r.ns); it != program.connectors.end()) r.connector = it->second;
    if (auto it = program.agents.find(r.ns); it != program.agents.end()) r.agent = it->second;
    if (auto it = program.types.find(r.ns); it != program.types.end() && it->second->is_entity) {
      r.entity = it->second;
    }
    return r;
  }

  struct Args {
    ValueList positional;
    ValueMap named;
    const Value* Named(std::string_view n) const {
      for (const auto& [k, v] : named) {
        if (k.as_string() == n) return &v;
      }
      return nullptr;
    }
  };

  bool EvalArgs(const Call& call, int s, const std::string& key, uint32_t node, Args* out) {
    for (size_t i = 0; i < call.args.size(); ++i) {
      Value v;
      if (!EvalOrFail(*call.args[i], s, key, &v, "argument", node)) return false;
      if (call.arg_names[i].empty()) {
        out->positional.push_back(std::move(v));
      } else {
        out->named.emplace_back(S(std::string(call.arg_names[i])), std::move(v));
      }
    }
    return true;
  }

  static std::string Upper(std::string m) {
    for (auto& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return m;
  }

  static std::string call_name(const Resolved& k) { return k.ns + "." + k.method; }

  static double Cosine(const Value& a, const Value& b) {
    if (a.kind() != ValueKind::kList || b.kind() != ValueKind::kList || a.as_list().size() != b.as_list().size()) {
      return 0;
    }
    auto num = [](const Value& v) {
      return v.kind() == ValueKind::kDouble ? v.as_double() : v.kind() == ValueKind::kInt ? static_cast<double>(v.as_int()) : 0.0;
    };
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a.as_list().size(); ++i) {
      const double x = num(a.as_list()[i]), y = num(b.as_list()[i]);
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    return na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : 0;
  }

  // The knowledge base: an embedding came back for kb.add (store the entry
  // with the step's completion) or kb.search (rank the collection by cosine
  // similarity, best first).
  void FinishKb(const CallRequest& req, CallResult& r) {
    if (!r.ok || req.args.Find("kb") == nullptr) return;
    const std::string op = StrOf(req.args.Find("kb"));
    const std::string prefix = StrOf(req.args.Find("collection")) + std::string(1, '\0');
    if (op == "add") {
      const std::string id = StrOf(req.args.Find("id"));
      log.batch().Put(Column::kKb, prefix + id,
                      EncodeValue(M({{S("id"), S(id)},
                                     {S("text"), *req.args.Find("text")},
                                     {S("meta"), req.args.Find("meta") ? *req.args.Find("meta") : Value()},
                                     {S("vector"), r.value}})));
      r.value = M({{S("id"), S(id)}, {S("collection"), *req.args.Find("collection")}});
      return;
    }
    SeeOwnWrites();
    std::vector<std::pair<double, Value>> hits;
    StoreOf().Scan(Column::kKb, prefix, prefix, [&](std::string_view, std::string_view raw) {
      Value e;
      if (DecodeValue(raw, &e) && e.Find("vector")) {
        hits.emplace_back(Cosine(r.value, *e.Find("vector")), e);
      }
      return true;
    });
    std::stable_sort(hits.begin(), hits.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
    const Value* kv = req.args.Find("k");
    const size_t k = kv && kv->kind() == ValueKind::kInt && kv->as_int() > 0 ? static_cast<size_t>(kv->as_int()) : 5;
    ValueList out;
    for (size_t i = 0; i < hits.size() && i < k; ++i) {
      const Value& e = hits[i].second;
      out.push_back(M({{S("id"), *e.Find("id")},
                       {S("text"), e.Find("text") ? *e.Find("text") : Value()},
                       {S("meta"), e.Find("meta") ? *e.Find("meta") : Value()},
                       {S("score"), Value::Double(hits[i].first)}}));
    }
    r.value = Value::List(std::move(out));
  }

  // Builds the handler request of an http, connector, model or email call.
  // false with *error_kind/*error when it cannot be made.
  bool BuildRequest(const Resolved& k, const Args& a, int s, const std::string& key,
                    CallRequest* req, std::string* error_kind, std::string* error) {
    ValueMap m;
    auto named = [&](const char* n) { return a.Named(n) ? *a.Named(n) : Value(); };
    if (k.ns == "http" || k.connector) {
      req->kind = "http";
      std::string url = a.positional.empty() ? "" : a.positional[0].ToDisplayString();
      ValueMap headers;
      if (k.connector) {
        InstEnv env(*this, s, key);
        std::string base;
        for (const auto& setting : k.connector->settings) {
          if (!setting.value) continue;
          EvalResult r = EvalIn(*setting.value, env);
          if (!r.ok()) {
            *error_kind = "expr.error";
            *error = "connector " + k.ns + " " + setting.key + ": " + r.error().message;
            return false;
          }
          if (setting.key == "base_url") base = r.value().ToDisplayString();
          if (setting.key == "headers" && r.value().kind() == ValueKind::kMap) {
            for (const auto& h : r.value().as_map()) headers.push_back(h);
          }
          if (setting.key == "auth") headers.emplace_back(S("Authorization"), r.value());
          if (setting.key == "allow" && r.value().kind() == ValueKind::kList) {
            const std::string path = url.substr(0, url.find('?'));
            bool allowed = false;
            for (const auto& p : r.value().as_list()) {
              const std::string pat = p.ToDisplayString();
              const size_t sp = pat.find(' ');
              if (sp == std::string::npos) continue;
              if (Upper(pat.substr(0, sp)) == Upper(k.method) &&
                  fnmatch(pat.substr(sp + 1).c_str(), path.c_str(), 0) == 0) {
                allowed = true;
              }
            }
            if (!allowed) {
              *error_kind = "connector.denied";
              *error = "connector " + k.ns + " does not allow " + Upper(k.method) + " " + path;
              return false;
            }
          }
        }
        if (!base.empty() && base.back() == '/' && !url.empty() && url.front() == '/') base.pop_back();
        url = base + url;
      }
      if (const Value* h = a.Named("headers"); h && h->kind() == ValueKind::kMap) {
        for (const auto& e : h->as_map()) headers.push_back(e);
      }
      m.emplace_back(S("method"), S(Upper(k.method)));
      m.emplace_back(S("url"), S(url));
      m.emplace_back(S("headers"), Value::Map(std::move(headers)));
      for (const char* n : {"query", "json", "body"}) {
        if (a.Named(n)) m.emplace_back(S(n), *a.Named(n));
      }
    } else if (k.agent || (k.ns == "llm" && k.method == "chat")) {
      req->kind = "llm";
      std::string prompt;
      Value model = named("model"), system = named("system"), temperature = named("temperature"),
            max_tokens = named("max_tokens");
      bool typed = false;
      Value schema = named("schema");
      if (k.agent) {
        prompt = a.positional.empty() ? "" : a.positional[0].ToDisplayString();
        if (const Value* c = a.Named("context")) prompt += "\n\nContext (JSON):\n" + c->ToJson();
        if (const TypeRef* out = AgentOutput(*k.agent)) {
          schema = JsonSchemaOf(program, out);
          // The last answer did not fit: say what was wrong.
          const Instance* in = st.Find(key);
          if (in && StrOf(in->last_error.Find("kind")) == "llm.schema") {
            prompt += "\n\nYour previous answer was not valid: " + StrOf(in->last_error.Find("message")) +
                      ". Answer again with one JSON object that matches the schema.";
          }
        }
        InstEnv env(*this, s, key);
        for (const auto& setting : k.agent->settings) {
          if (setting.key == "output") {
            typed = true;
            continue;
          }
          if (!setting.value) continue;
          EvalResult r = Evaluate(*setting.value, env);
          if (!r.ok()) continue;
          if (setting.key == "model") model = r.value();
          if (setting.key == "instructions") system = r.value();
          if (setting.key == "temperature") temperature = r.value();
          if (setting.key == "max_tokens") max_tokens = r.value();
        }
      } else {
        prompt = named("prompt").ToDisplayString();
        typed = !named("schema").is_null();
      }
      m = {{S("model"), model},     {S("system"), system},
           {S("prompt"), S(prompt)}, {S("temperature"), temperature},
           {S("max_tokens"), max_tokens}, {S("typed"), Value::Bool(typed)},
           {S("schema"), schema}};
    } else if (k.ns == "llm" && k.method == "embed") {
      req->kind = "embed";
      m = {{S("model"), named("model")}, {S("text"), named("text")}};
    } else if (k.ns == "kb") {
      // kb.add(collection, id, text, meta:) and kb.search(collection, query,
      // k:): the text is embedded by the config's kb model; Finish stores or
      // searches (FinishKb).
      if (!opt.config || opt.config->kb_model.empty()) {
        *error_kind = "llm.config";
        *error = call_name(k) + " needs a model to embed with: kb: {model: NAME} in aos.yaml";
        return false;
      }
      req->kind = "embed";
      const bool add = k.method == "add";
      auto pos = [&](size_t i) { return i < a.positional.size() ? a.positional[i] : Value(); };
      m = {{S("model"), S(opt.config->kb_model)},
           {S("text"), S(pos(add ? 2 : 1).ToDisplayString())},
           {S("kb"), S(k.method)},
           {S("collection"), S(pos(0).ToDisplayString())}};
      if (add) {
        m.emplace_back(S("id"), S(pos(1).ToDisplayString()));
        m.emplace_back(S("meta"), named("meta"));
      } else {
        m.emplace_back(S("k"), named("k").kind() == ValueKind::kInt ? named("k") : Value::Int(5));
      }
    } else if (k.ns == "email") {
      req->kind = "email";
      m = a.named;
    } else {
      *error_kind = "effect.unknown";
      *error = k.ns + "." + k.method + " is not available in this runtime yet";
      return false;
    }
    req->args = Value::Map(std::move(m));
    return true;
  }

  // Entity and kv calls: run here, written with the step's completion.
  bool InlineCall(const Resolved& k, const Args& a, int s, uint32_t node, const std::string& key) {
    if (!k.entity && k.ns != "kv") return false;
    SeeOwnWrites();
    Store& store = StoreOf();
    if (k.ns == "kv") {
      const std::string kk = a.positional.empty() ? "" : a.positional[0].ToDisplayString();
      if (k.method == "put") {
        Value v = a.positional.size() > 1 ? a.positional[1] : Value();
        int64_t expires = 0;
        if (const Value* ttl = a.Named("ttl"); ttl && ttl->kind() == ValueKind::kDuration) {
          expires = clock.NowNanos() + ttl->as_duration().nanos;
        }
        log.batch().Put(Column::kKv, kk, EncodeValue(M({{S("v"), v}, {S("exp"), Value::Int(expires)}})));
        Complete(s, node, key, v);
        return true;
      }
      Value out;
      if (auto raw = store.Get(Column::kKv, kk)) {
        Value rec;
        if (DecodeValue(*raw, &rec)) {
          const Value* exp = rec.Find("exp");
          if (!exp || exp->as_int() == 0 || exp->as_int() > clock.NowNanos()) out = *rec.Find("v");
        }
      }
      Complete(s, node, key, out);
      return true;
    }
    const TypeDecl& et = *k.entity;
    const std::string prefix = et.name + std::string(1, '\0');
    const Field* key_field = nullptr;
    for (const auto& f : et.fields) {
      if (f.is_key) key_field = &f;
    }
    auto load = [&](const std::string& id) -> Value {
      auto raw = store.Get(Column::kEntities, prefix + id);
      Value v;
      if (raw && DecodeValue(*raw, &v)) return v;
      return Value();
    };
    if (k.method == "list") {
      int64_t limit = INT64_MAX;
      if (const Value* l = a.Named("limit"); l && l->kind() == ValueKind::kInt) limit = l->as_int();
      ValueList items;
      store.Scan(Column::kEntities, prefix, prefix, [&](std::string_view, std::string_view raw) {
        if (static_cast<int64_t>(items.size()) >= limit) return false;
        Value v;
        if (DecodeValue(raw, &v)) items.push_back(std::move(v));
        return true;
      });
      Complete(s, node, key, Value::List(std::move(items)));
      return true;
    }
    if (k.method == "get" || k.method == "delete") {
      const std::string id = a.positional.empty() ? "" : a.positional[0].ToDisplayString();
      Value before = load(id);
      if (k.method == "get") {
        Complete(s, node, key, before);
        return true;
      }
      if (!before.is_null()) {
        log.batch().Delete(Column::kEntities, prefix + id);
        log.Append(EventType::kEntityChanged, key,
                   M({{S("type"), S(et.name)}, {S("key"), S(id)}, {S("before"), before}, {S("after"), Value()}}));
      }
      Complete(s, node, key, Value::Bool(!before.is_null()));
      return true;
    }
    // upsert: the record, with declared defaults filled in.
    const Value rec = a.positional.empty() ? Value() : a.positional[0];
    if (rec.kind() != ValueKind::kMap || !key_field) {
      FailStep(key, "expr.error", et.name + ".upsert needs a record");
      return true;
    }
    ValueMap fields;
    for (const auto& f : et.fields) {
      const Value* v = rec.Find(f.name);
      if (v) {
        fields.emplace_back(S(f.name), *v);
      } else if (f.default_value) {
        MapEnv none;
        EvalResult r = Evaluate(*f.default_value, none);
        fields.emplace_back(S(f.name), r.ok() ? r.value() : Value());
      } else {
        fields.emplace_back(S(f.name), Value());
      }
    }
    Value after = M(std::move(fields));
    const Value* idv = after.Find(key_field->name);
    if (!idv || idv->is_null()) {
      FailStep(key, "expr.error", et.name + ".upsert: the key field '" + key_field->name + "' is missing");
      return true;
    }
    const std::string id = idv->ToDisplayString();
    Value before = load(id);
    log.batch().Put(Column::kEntities, prefix + id, EncodeValue(after));
    log.Append(EventType::kEntityChanged, key,
               M({{S("type"), S(et.name)}, {S("key"), S(id)}, {S("before"), before}, {S("after"), after}}));
    Complete(s, node, key, after);
    return true;
  }

  Store& StoreOf() { return log.store(); }

  const RetrySpec* RetryOf(const Stmt& stmt) const {
    if (const Modifier* m = stmt.FindModifier(ModifierKind::kRetry)) return m->retry.get();
    if (wf.retry) return &*wf.retry;
    return nullptr;
  }

  static bool Retryable(const RetrySpec* r, const std::string& kind) {
    static const std::vector<std::string> kDefault = {"net", "http.5xx", "http.429", "timeout",
                                                      "llm.rate_limit", "llm.schema"};
    const auto& on = (r && !r->on.empty()) ? r->on : kDefault;
    for (const auto& k : on) {
      if (k == kind) return true;
      // Classes match exact statuses: http.4xx (but not 429, named apart) and http.5xx.
      if (k == "http.4xx" && kind.rfind("http.4", 0) == 0 && kind != "http.429") return true;
      if (k == "http.5xx" && kind.rfind("http.5", 0) == 0) return true;
    }
    return false;
  }

  // The cross-run idempotency record of an effect key: workflow \0 key.
  std::string IdempotencyKey(const std::string& key) const { return wf.name + std::string(1, '\0') + key; }

  // Reads of the store (entities, kv, kb) must see this run's own pending
  // writes: flush them first.
  void SeeOwnWrites() {
    if (log.batch().state_writes) log.Flush(opt.durability == Durability::kStrict);
  }

  void AdvanceCall(int s, uint32_t node, const std::string& key, Instance& in) {
    const Stmt& stmt = StmtOf(node);
    if (dispatched.count(key)) return;  // on a worker now
    const bool effect = stmt.kind == StmtKind::kEffect;
    // An escalation waiting for the operator.
    if (in.requested && StrOf(in.request.Find("purpose")) == "escalate") {
      if (!in.decided) {
        Block(s, node);
        return;
      }
      const Value* ap = in.decision.Find("approved");
      const Value* data = in.decision.Find("data");
      if (!ap || !ap->as_bool()) {
        FailStep(key, StrOf(in.last_error.Find("kind")).empty() ? "approval.rejected"
                                                                : StrOf(in.last_error.Find("kind")),
                 "the operator chose to fail " + key + " after: " + StrOf(in.last_error.Find("message")));
        return;
      }
      if (data && data->Find("skip")) {
        Complete(s, node, key, *data->Find("skip"));
        return;
      }
      log.Append(EventType::kStepScheduled, key, M({{S("reset"), Value::Bool(true)}}));
    }
    if (in.retry_due > clock.NowNanos()) {
      Block(s, node);
      return;
    }
    if (in_flight >= opt.concurrency) {
      deferred.emplace_back(s, node);
      return;
    }
    const Call& call = *stmt.call;
    Args a;
    if (!EvalArgs(call, s, key, node, &a)) return;
    const Resolved k = Resolve(call);
    if (!effect && InlineCall(k, a, s, node, key)) return;

    CallRequest req;
    req.callee = call.callee;
    req.instance = key;
    if (const Modifier* t = stmt.FindModifier(ModifierKind::kTimeout); t && t->value) {
      Value tv;
      if (!EvalOrFail(*t->value, s, key, &tv, "timeout", node)) return;
      if (tv.kind() == ValueKind::kDuration) req.timeout_ms = tv.as_duration().nanos / 1'000'000;
    }
    std::string ekind, emsg;
    std::string ekey;  // the effect's idempotency key
    if (effect) {
      ekey = in.key;  // recorded by an earlier intent; else evaluated (deterministically)
      if (ekey.empty()) {
        const Modifier* km = stmt.FindModifier(ModifierKind::kKey);
        Value kv;
        if (!km || !EvalOrFail(*km->value, s, key, &kv, "key", node)) return;
        ekey = kv.ToDisplayString();
      }
      req.idempotency_key = ekey;
      // Within a run a key names one request: a second effect with the same
      // key and another request would reach a deduplicating receiver as a
      // replay and be dropped, or be sent twice under one key elsewhere.
      if (!in.intent) {
        const std::string digest = RequestDigest(call, a);
        auto owner = st.effect_key_owner.find(ekey);
        if (owner != st.effect_key_owner.end() && owner->second != key) {
          const Instance& first = st.At(owner->second);
          if (first.request_digest != digest) {
            FailStep(key, "effect.key_conflict",
                     "effects " + owner->second + " and " + key + " have the same key '" + ekey +
                         "' but different requests: a key must name one request");
            return;
          }
          // The same request under the same key is the same effect: its
          // result once done (the store may not have it yet), never a
          // second send (SMTP cannot deduplicate).
          if (first.status == InstStatus::kDone) {
            log.Append(EventType::kEffectCompleted, key,
                       M({{S("key"), S(ekey)}, {S("result"), first.result}, {S("reused"), Value::Bool(true)}}));
            Complete(s, node, key, first.result);
            return;
          }
          if (first.status != InstStatus::kFailed) {
            Block(s, node);  // until the first one ends
            return;
          }
        }
      }
      // Across runs: a completed key returns its recorded result.
      if (!st.replay_effects) {
        if (auto raw = StoreOf().Get(Column::kIdempotency, IdempotencyKey(ekey))) {
          Value prior;
          if (DecodeValue(*raw, &prior)) {
            log.Append(EventType::kEffectCompleted, key,
                       M({{S("key"), S(ekey)}, {S("result"), prior}, {S("reused"), Value::Bool(true)}}));
            Complete(s, node, key, prior);
            return;
          }
        }
      }
      if (stmt.FindModifier(ModifierKind::kConfirm) && !st.At(key).confirmed) {
        if (!st.At(key).requested || StrOf(st.At(key).request.Find("purpose")) != "confirm") {
          // The operator sees the request as it will be made, secrets masked.
          Args shown;
          redact_secrets = true;
          const bool ok = EvalArgs(call, s, key, node, &shown);
          redact_secrets = false;
          if (!ok) return;
          RequestApproval(key, "confirm", "Run effect " + key + " (" + call.callee + ") with key '" + ekey + "'?",
                          M({{S("call"), S(call.callee)},
                             {S("args"), Value::List(shown.positional)},
                             {S("named"), M(shown.named)},
                             {S("key"), S(ekey)}}),
                          0, "");
        }
        Instance& i3 = st.At(key);
        if (!i3.decided) {
          Block(s, node);
          return;
        }
        const Value* ap = i3.decision.Find("approved");
        if (!ap || !ap->as_bool()) {
          FailStep(key, "approval.rejected", "the effect " + key + " was not confirmed");
          return;
        }
      }
    }
    if (!BuildRequest(k, a, s, key, &req, &ekind, &emsg)) {
      FailStep(key, ekind, emsg);
      return;
    }
    // `cache`: an identical call (callee, evaluated arguments, model
    // settings) made within the TTL by any run answers from the cache.
    std::string ckey;
    if (!effect && stmt.FindModifier(ModifierKind::kCache)) {
      ckey = CacheKey(req);
      if (auto raw = StoreOf().Get(Column::kCache, ckey)) {
        Value entry;
        if (DecodeValue(*raw, &entry) && entry.Find("expires") && entry.Find("value") &&
            (entry.Find("expires")->as_int() == 0 || entry.Find("expires")->as_int() > clock.NowNanos())) {
          CacheHit(s, node, key, req, *entry.Find("value"));
          return;
        }
      }
    }
    if (req.kind == "llm" && !BudgetAllows(s, node, key, req)) return;
    if (req.kind == "llm" && BudgetNanos() >= 0) {
      // Held until the call ends, so that parallel calls share the budget.
      const int64_t est = EstimateNanos(req);
      reserved_nanos += est;
      reserved[key] = est;
    }
    Instance& i4 = st.At(key);
    ValueMap started = {{S("attempt"), Value::Int(i4.attempts + (i4.in_flight ? 0 : 1))}};
    if (i4.attempts == 0) {
      if (Value d = Describe(stmt, s, key); !d.is_null()) started.emplace_back(S("describe"), std::move(d));
    }
    log.Append(EventType::kAttemptStarted, key, M(std::move(started)));
    if (effect) {
      const std::string digest = RequestDigest(call, a);
      log.Append(EventType::kEffectIntent, key, M({{S("key"), S(ekey)}, {S("request_digest"), S(digest)}}));
      log.Flush(/*sync=*/true);  // the intent is durable before the world is touched
    } else if (opt.durability == Durability::kStrict) {
      log.Flush(true);
    }
    Dispatch(Job{key, s, node, std::move(req), clock.NowNanos(), std::move(ckey)});
  }

  // The statement's `describe` text, evaluated in its scope (interpolation
  // included) for the trace; null when it has none or it does not evaluate.
  // A text that reads a secret is not recorded.
  Value Describe(const Stmt& stmt, int s, const std::string& key) {
    const Modifier* m = stmt.FindModifier(ModifierKind::kDescribe);
    if (!m || !m->value) return Value();
    InstEnv env(*this, s, key);
    EvalResult r = Evaluate(*m->value, env);
    if (!r.ok() || env.touched_secret()) return Value();
    return S(r.value().ToDisplayString());
  }

  // What an effect's intent records of its request: the callee and the
  // evaluated arguments.
  static std::string RequestDigest(const Call& call, const Args& a) {
    return Digest(call.callee + EncodeValue(Value::List(a.positional)) + EncodeValue(M(a.named)));
  }

  void Dispatch(Job job) {
    dispatched[job.inst] = true;
    ++in_flight;
    // A handler that runs calls on its own event loop takes it directly.
    auto shared = std::make_shared<Job>(std::move(job));
    {
      std::lock_guard<std::mutex> lock(mu);
      ++async_started;
    }
    bool started = false;
    try {
      started = calls.Start(shared->req, [this, shared](CallResult r) {
        std::lock_guard<std::mutex> lock(mu);
        done.push_back(Done{std::move(*shared), std::move(r)});
        ++async_finished;
        cv_done.notify_all();
      });
    } catch (const std::exception&) {
      started = false;  // the handler could not start it: a worker will
    }
    if (started) return;
    job = std::move(*shared);
    std::lock_guard<std::mutex> lock(mu);
    --async_started;
    if (static_cast<int>(workers.size()) < opt.concurrency &&
        static_cast<int>(workers.size()) < in_flight + static_cast<int>(jobs.size())) {
      workers.emplace_back([this] { WorkerLoop(); });
    }
    jobs.push_back(std::move(job));
    cv_jobs.notify_one();
  }

  void WorkerLoop() {
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv_jobs.wait(lock, [&] { return stopping || !jobs.empty(); });
        // Stopping (the run ended, or the process is going down): calls not
        // started yet are not started; the log already says how to redo them.
        if (stopping) return;
        job = std::move(jobs.front());
        jobs.pop_front();
      }
      CallResult r;
      try {
        r = calls.Invoke(job.req);
      } catch (const std::exception& e) {
        r.ok = false;
        r.error_kind = "net";
        r.message = e.what();
      }
      std::lock_guard<std::mutex> lock(mu);
      done.push_back(Done{std::move(job), std::move(r)});
      cv_done.notify_all();
    }
  }

  void StopWorkers() {
    {
      // Calls a handler runs on its own loop hold a pointer to this runner:
      // wait for their callbacks (bounded by the calls' own deadlines).
      std::unique_lock<std::mutex> lock(mu);
      cv_done.wait(lock, [&] { return async_finished == async_started; });
      stopping = true;
    }
    cv_jobs.notify_all();
    for (auto& t : workers) t.join();
    workers.clear();
  }

  // Waits for finished calls (at most until `deadline`, 0: no bound) and
  // records them.
  void Collect(int64_t deadline) {
    std::deque<Done> got;
    {
      std::unique_lock<std::mutex> lock(mu);
      if (done.empty()) {
        if (deadline) {
          const int64_t wait = std::max<int64_t>(0, deadline - clock.NowNanos());
          cv_done.wait_for(lock, std::chrono::nanoseconds(std::min<int64_t>(wait, 1'000'000'000)),
                           [&] { return !done.empty(); });
        } else {
          cv_done.wait(lock, [&] { return !done.empty(); });
        }
      }
      got.swap(done);
    }
    for (auto& d : got) Finish(d);
  }

  void Finish(Done& d) {
    --in_flight;
    dispatched.erase(d.job.inst);
    if (auto r = reserved.find(d.job.inst); r != reserved.end()) {
      reserved_nanos -= r->second;
      reserved.erase(r);
    }
    const int s = d.job.scope;
    const uint32_t node = d.job.node;
    const std::string& key = d.job.inst;
    const Stmt& stmt = StmtOf(node);
    const int64_t ms = (clock.NowNanos() - d.job.started) / 1'000'000;
    CheckTypedAnswer(node, d.result);
    FinishKb(d.job.req, d.result);
    if (d.result.ok && DeeperThan(d.result.value, kMaxValueDepth)) {
      d.result.ok = false;
      d.result.error_kind = "expr.error";
      d.result.message = TooDeepMessage(key);
    }
    if (d.result.ok) {
      if (stmt.kind == StmtKind::kEffect) {
        const Instance& in = st.At(key);
        log.Append(EventType::kEffectCompleted, key, M({{S("key"), S(in.key)}, {S("result"), d.result.value}}));
        log.batch().Put(Column::kIdempotency, IdempotencyKey(in.key), EncodeValue(d.result.value));
      }
      ValueMap done_fields = {{S("result"), d.result.value}, {S("duration_ms"), Value::Int(ms)}};
      if (d.job.req.kind == "llm") {
        // What the model call used and cost, for budgets and `aosrun cost`.
        ValueMap usage;
        for (const char* f : {"model", "tokens_in", "tokens_out", "cost"}) {
          if (const Value* v = d.result.value.Find(f)) usage.emplace_back(S(f), *v);
        }
        done_fields.emplace_back(S("usage"), M(std::move(usage)));
      } else if (!d.result.usage.is_null()) {
        done_fields.emplace_back(S("usage"), d.result.usage);  // embeddings
      }
      CacheStore(node, d.job.cache_key, d.result.value);
      log.Append(EventType::kStepCompleted, key, M(std::move(done_fields)));
      MarkFinished(s, node, true);
    } else {
      OnAttemptFailed(s, node, key, d.result);
    }
    if (opt.durability == Durability::kStrict) log.Flush(true);
    while (!deferred.empty() && in_flight < opt.concurrency) {
      ready.push_back(deferred.front());
      deferred.pop_front();
    }
  }

  // The delay before the next attempt after `failures` failed ones: the
  // policy's backoff (with its factor, cap and jitter), or the server's
  // Retry-After when longer; a year at most.
  int64_t BackoffMs(const RetrySpec* spec, int failures, int64_t retry_after_ms) {
    int64_t delay_ms = 0;
    if (spec && spec->backoff) {
      double d = static_cast<double>(spec->backoff->nanos) / 1e6 * std::pow(spec->factor, failures);
      if (spec->max_delay) d = std::min(d, static_cast<double>(spec->max_delay->nanos) / 1e6);
      if (spec->jitter) d = std::uniform_real_distribution<double>(0, d)(rng);
      delay_ms = static_cast<int64_t>(std::min(d, 4e13));
    }
    if (retry_after_ms > delay_ms) delay_ms = retry_after_ms;
    return std::min<int64_t>(delay_ms, 366LL * 24 * 3600 * 1000);
  }

  void OnAttemptFailed(int s, uint32_t node, const std::string& key, const CallResult& raw) {
    CallResult r = raw;
    r.message = RedactSecrets(r.message);
    const Stmt& stmt = StmtOf(node);
    const RetrySpec* spec = RetryOf(stmt);
    Instance& in = st.At(key);
    // A typed answer that does not fit is asked for again twice even without
    // a `retry`: the mismatch is fed back, and models usually correct it.
    const int allowed = 1 + static_cast<int>(spec ? spec->attempts : (r.error_kind == "llm.schema" ? 2 : 0));
    const bool retryable = Retryable(spec, r.error_kind);
    const Modifier* esc = stmt.FindModifier(ModifierKind::kEscalate);
    const bool again = retryable && in.attempts < allowed;
    const int64_t delay_ms = again ? BackoffMs(spec, in.failures, r.retry_after_ms) : 0;
    ValueMap failed = {{S("attempt"), Value::Int(in.attempts)},
                       {S("kind"), S(r.error_kind)},
                       {S("message"), S(r.message)},
                       {S("retryable"), Value::Bool(again)},
                       {S("delay_ms"), Value::Int(delay_ms)}};
    // A model call that answered and still failed (an answer that does not
    // fit its type) was paid for: its usage counts like a completed one's.
    if (const Value* cost = r.value.Find("cost"); cost && cost->kind() == ValueKind::kMoney) {
      ValueMap usage;
      for (const char* f : {"model", "tokens_in", "tokens_out", "cost"}) {
        if (const Value* v = r.value.Find(f)) usage.emplace_back(S(f), *v);
      }
      failed.emplace_back(S("usage"), M(std::move(usage)));
    }
    log.Append(EventType::kAttemptFailed, key, M(std::move(failed)));
    Instance& i2 = st.At(key);
    // `escalate after N` on the statement, or `on failure escalate` on the
    // workflow once the statement's attempts are spent: the operator decides.
    const bool escalate = (esc && i2.failures >= esc->count) ||
                          (!again && wf.on_failure == FailurePolicy::kEscalate);
    if (escalate) {
      RequestApproval(key, "escalate",
                      key + " failed " + std::to_string(i2.failures) + " times (" + r.error_kind + ": " +
                          r.message + "). Approve to retry, approve with --payload '{\"skip\": VALUE}' "
                          "to continue with VALUE, or reject to fail the run.",
                      M({{S("kind"), S(r.error_kind)}, {S("message"), S(r.message)}}), 0, "");
      Block(s, node);
      return;
    }
    if (again) {
      ready.emplace_back(s, node);
      return;
    }
    FailStep(key, r.error_kind, r.message);
  }

  // ------------------------------------------------------------ compensation
  bool WantsCompensation() const {
    if (wf.on_failure == FailurePolicy::kCompensate) return true;
    if (wf.on_failure != FailurePolicy::kDefault) return false;
    for (const auto& n : dag.nodes) {
      if (n.stmt && n.stmt->FindModifier(ModifierKind::kCompensate)) return true;
    }
    return false;
  }

  // instance -> (scope, node), built when compensation needs it.
  void IndexInstances() {
    where.clear();
    for (int id = 0; id < static_cast<int>(scopes.size()); ++id) {
      for (uint32_t m : members[scopes[id].for_node + 1]) where[Key(id, m)] = {id, m};
    }
  }

  // Undoes the completed effects in reverse completion order. Returns false
  // when an undo failed with a retryable kind after its attempts: the run then
  // waits (resume tries again) instead of ending as if compensated; *waiting
  // says which undo and until when.
  bool Compensate(bool cancel, Value* waiting) {
    IndexInstances();
    if (!st.compensating) {
      log.Append(EventType::kCompensationStarted, "",
                 M({{S("error"), fail_error}, {S("cancel"), Value::Bool(cancel)}}));
    }
    const std::vector<std::string> effects = st.completed_effects;
    for (auto it = effects.rbegin(); it != effects.rend(); ++it) {
      const std::string& inst = *it;
      if (std::find(st.compensated.begin(), st.compensated.end(), inst) != st.compensated.end()) continue;
      auto w = where.find(inst);
      if (w == where.end()) {
        log.Append(EventType::kCompensationCompleted, "",
                   M({{S("for"), S(inst)}, {S("ok"), Value::Bool(false)},
                      {S("error"), S("its statement is not in the workflow any more (upgraded)")}}));
        continue;
      }
      const auto [s, node] = w->second;
      const Modifier* cm = StmtOf(node).FindModifier(ModifierKind::kCompensate);
      if (!cm || !cm->call) {
        log.Append(EventType::kCompensationCompleted, "", M({{S("for"), S(inst)}, {S("ok"), Value::Bool(true)}, {S("none"), Value::Bool(true)}}));
        continue;
      }
      const std::string undo = inst + ":undo";
      const std::string ukey = st.At(inst).key + ":undo";
      Args a;
      bool ok = true;
      std::string why;
      for (size_t i = 0; i < cm->call->args.size() && ok; ++i) {
        EvalResult r = Eval(*cm->call->args[i], s, inst);
        if (!r.ok()) {
          ok = false;
          why = r.error().message;
          break;
        }
        if (cm->call->arg_names[i].empty()) {
          a.positional.push_back(r.value());
        } else {
          a.named.emplace_back(S(std::string(cm->call->arg_names[i])), r.value());
        }
      }
      CallRequest req;
      req.callee = cm->call->callee;
      req.instance = undo;
      req.idempotency_key = ukey;
      std::string ekind;
      if (ok && !BuildRequest(Resolve(*cm->call), a, s, inst, &req, &ekind, &why)) ok = false;
      Value result;
      if (ok) {
        const std::string idem = IdempotencyKey(ukey);
        auto raw = st.replay_effects ? std::nullopt : StoreOf().Get(Column::kIdempotency, idem);
        if (raw && DecodeValue(*raw, &result)) {
          log.Append(EventType::kEffectCompleted, undo,
                     M({{S("key"), S(ukey)}, {S("result"), result}, {S("undo"), Value::Bool(true)}, {S("reused"), Value::Bool(true)}}));
        } else {
          log.Append(EventType::kEffectIntent, undo, M({{S("key"), S(ukey)}, {S("undo"), Value::Bool(true)}}));
          log.Flush(true);
          // The effect's retry policy (at least two more tries), with its
          // backoff slept inline while short; a longer one waits.
          const RetrySpec* spec = RetryOf(StmtOf(node));
          const int allowed = 1 + static_cast<int>(spec ? std::max<int64_t>(spec->attempts, 2) : 2);
          CallResult r;
          int64_t delay_ms = 0;
          for (int attempt = 1;; ++attempt) {
            r = calls.Invoke(req);
            r.message = RedactSecrets(r.message);
            if (r.ok || !Retryable(spec, r.error_kind)) break;
            delay_ms = BackoffMs(spec, attempt - 1, r.retry_after_ms);
            log.Append(EventType::kAttemptFailed, undo,
                       M({{S("attempt"), Value::Int(attempt)}, {S("kind"), S(r.error_kind)},
                          {S("message"), S(r.message)}, {S("retryable"), Value::Bool(attempt < allowed)},
                          {S("delay_ms"), Value::Int(delay_ms)}}));
            if ((attempt >= allowed || delay_ms > opt.max_inline_wait_ms) && cancel) {
              break;  // a cancel ends the run: the undo is recorded as failed
            }
            if (attempt >= allowed || delay_ms > opt.max_inline_wait_ms) {
              // Still failing: the run waits for this undo (the receiver may
              // be down for a while); `resume` tries it again.
              const int64_t due = clock.NowNanos() + std::max<int64_t>(delay_ms, 1000) * 1'000'000;
              log.Append(EventType::kCompensationCompleted, "",
                         M({{S("for"), S(inst)}, {S("key"), S(ukey)}, {S("ok"), Value::Bool(false)},
                            {S("pending"), Value::Bool(true)}, {S("error"), S(r.error_kind + ": " + r.message)}}));
              *waiting = Value::List({M({{S("kind"), S("compensation")},
                                         {S("name"), S(undo)},
                                         {S("error"), S(r.error_kind + ": " + r.message)},
                                         {S("due"), Value::Time(Timestamp{due})}})});
              return false;
            }
            log.Flush(opt.durability == Durability::kStrict);
            clock.SleepUntil(clock.NowNanos() + delay_ms * 1'000'000);
          }
          if (r.ok) {
            result = r.value;
            log.Append(EventType::kEffectCompleted, undo,
                       M({{S("key"), S(ukey)}, {S("result"), result}, {S("undo"), Value::Bool(true)}}));
            log.batch().Put(Column::kIdempotency, idem, EncodeValue(result));
          } else {
            ok = false;
            why = r.error_kind + ": " + r.message;
          }
        }
      }
      ValueMap m = {{S("for"), S(inst)}, {S("key"), S(ukey)}, {S("ok"), Value::Bool(ok)}};
      if (!ok) m.emplace_back(S("error"), S(RedactSecrets(why)));
      log.Append(EventType::kCompensationCompleted, "", M(std::move(m)));
      log.Flush(opt.durability == Durability::kStrict);
    }
    return true;
  }

  // ------------------------------------------------------------ the loop
  void Build() {
    scopes.clear();
    fors.clear();
    where.clear();
    ready.clear();
    blocked.clear();
    finished_count = total_count = 0;
    NewScope(-1, -1, "");
    Populate(0);
  }

  Value WaitingList() {
    ValueList out;
    std::set<std::string> seen;
    for (const auto& [s, node] : blocked) {
      const std::string key = Key(s, node);
      if (!seen.insert(key).second) continue;
      const Instance& in = st.At(key);
      const Stmt& stmt = StmtOf(node);
      ValueMap m;
      if (in.requested && !in.decided) {
        m = {{S("kind"), S("approval")}, {S("name"), S(key)}, {S("ask"), in.request.Find("ask") ? *in.request.Find("ask") : Value()}};
        if (const Value* due = in.request.Find("due")) m.emplace_back(S("due"), Value::Time(Timestamp{due->as_int()}));
      } else if (stmt.kind == StmtKind::kWait) {
        m = {{S("kind"), S("timer")}, {S("name"), S(key)}, {S("due"), Value::Time(Timestamp{in.due})}};
      } else if (stmt.kind == StmtKind::kSignal) {
        m = {{S("kind"), S("signal")}, {S("name"), S(key)}, {S("signal"), S(SignalName(stmt))}};
        if (in.timer) m.emplace_back(S("due"), Value::Time(Timestamp{in.due}));  // its timeout
      } else {
        m = {{S("kind"), S("retry")}, {S("name"), S(key)}, {S("due"), Value::Time(Timestamp{in.retry_due})}};
      }
      out.push_back(M(std::move(m)));
    }
    return Value::List(std::move(out));
  }

  // The earliest time a blocked statement may move by itself; 0: none.
  int64_t NextDue() {
    int64_t best = 0;
    auto take = [&](int64_t t) {
      if (t && (!best || t < best)) best = t;
    };
    for (const auto& [s, node] : blocked) {
      const Instance& in = st.At(Key(s, node));
      if (in.requested && !in.decided) {
        if (const Value* due = in.request.Find("due")) take(due->as_int());
      } else if (in.timer) {
        take(in.due);
      } else if (in.retry_due) {
        take(in.retry_due);
      }
    }
    return best;
  }

  // Effects whose intent is recorded but whose outcome is not (the process
  // died during the call): attempted again with the same key before the run
  // ends, so that what happened is known and can be compensated.
  void SettleInDoubt() {
    IndexInstances();
    std::vector<std::string> doubt;
    for (const auto& [key, in] : st.inst) {
      if (in.intent && in.status == InstStatus::kActive && !dispatched.count(key) && where.count(key)) {
        doubt.push_back(key);
      }
    }
    std::sort(doubt.begin(), doubt.end());
    for (const auto& key : doubt) {
      const auto [s, node] = where[key];
      while (in_flight >= opt.concurrency) Collect(0);
      AdvanceCall(s, node, key, st.At(key));
    }
    while (in_flight > 0) Collect(0);
    ready.clear();  // retries the failures asked for: the run is ending
  }

  RunOutcome EndFailed(bool cancelled) {
    while (in_flight > 0) Collect(0);
    SettleInDoubt();
    Value waiting;
    if ((WantsCompensation() || cancelled) && !Compensate(cancelled, &waiting)) {
      log.Append(EventType::kRunWaiting, "", M({{S("on"), waiting}}));
      log.Flush(true);
      return OutcomeOf(st);
    }
    if (cancelled) {
      log.Append(EventType::kRunCancelled, "", Value());
    } else {
      log.Append(EventType::kRunFailed, "", M({{S("error"), fail_error}}));
    }
    log.Flush(opt.sync_at_end || opt.durability == Durability::kStrict);
    return OutcomeOf(st);
  }

  RunOutcome Run() {
    if (st.Finished()) return OutcomeOf(st);
    if (st.status == RunStatus::kWaiting || st.next_seq > 1) {
      log.Append(EventType::kRunResumed, "", Value());
    }
    if (st.compensating) {
      // Interrupted while compensating: finish that, then end as it would have.
      Build();
      fail_error = st.error;
      failing = true;
      return EndFailed(st.cancelling);
    }
    // A run that failed before a crash but had not recorded RunFailed: the
    // first failure, as a live run reports it.
    if (!st.first_failure.is_null() && !failing) {
      failing = true;
      fail_error = st.first_failure;
    }
    Build();
    for (;;) {
      while (!ready.empty() && !failing) {
        auto [s, node] = ready.front();
        ready.pop_front();
        Advance(s, node);
        if (opt.durability == Durability::kStrict) {
          log.Flush(true);  // every event durable before the next statement
        } else if (log.pending() >= 1024) {
          log.Flush(false);
        }
      }
      if (failing) return EndFailed(false);
      if (scopes[0].unfinished == 0) {
        Value output;
        for (uint32_t id : members[0]) {
          if (StmtOf(id).kind == StmtKind::kOutput) output = st.At(Key(0, id)).result;
        }
        log.Append(EventType::kRunCompleted, "", M({{S("output"), output}}));
        log.Flush(opt.sync_at_end || opt.durability == Durability::kStrict);
        return OutcomeOf(st);
      }
      if (in_flight > 0) {
        log.Flush(opt.durability == Durability::kStrict);
        Collect(NextDue());
        RecheckBlocked();
        continue;
      }
      if (!blocked.empty()) {
        const uint64_t before = st.next_seq;
        RecheckBlocked();
        if (st.next_seq != before || !ready.empty()) continue;
        const int64_t due = NextDue();
        const int64_t now = clock.NowNanos();
        if (due && due - now <= opt.max_inline_wait_ms * 1'000'000) {
          log.Flush(opt.durability == Durability::kStrict);
          clock.SleepUntil(due);
          RecheckBlocked();
          continue;
        }
        log.Append(EventType::kRunWaiting, "", M({{S("on"), WaitingList()}}));
        log.Flush(opt.sync_at_end || opt.durability == Durability::kStrict);
        return OutcomeOf(st);
      }
      if (!deferred.empty()) {
        ready.push_back(deferred.front());
        deferred.pop_front();
        continue;
      }
      // Nothing ready, running or blocked, yet statements remain: a
      // dependency failed to settle. Report rather than spin.
      failing = true;
      fail_error = ErrorValue("internal", "the run cannot make progress (statements remain unscheduled)", "");
    }
  }

  void RecheckBlocked() {
    std::vector<std::pair<int, uint32_t>> b;
    b.swap(blocked);
    for (auto [s, node] : b) {
      if (failing) {
        blocked.emplace_back(s, node);
        continue;
      }
      Advance(s, node);
    }
  }
};

Runner::Runner(RunLog& log, const Program& program, const Dag& dag, CallHandler& calls, Clock& clock,
               RunOptions options)
    : impl_(std::make_unique<Impl>(log, program, dag, calls, clock, std::move(options))) {}

Runner::~Runner() = default;

RunOutcome Runner::Run() { return impl_->Run(); }

RunOutcome Runner::Cancel() {
  Impl& r = *impl_;
  if (r.st.Finished()) return OutcomeOf(r.st);
  r.Build();
  r.fail_error = ErrorValue("cancelled", "the run was cancelled", "");
  r.failing = true;
  return r.EndFailed(true);
}

}  // namespace aos
