// Runner::Impl: the executor of one run, shared by the runner_*.cc files
// that define it by concern (ninja's Plan decides, its Builder runs):
//   runner.cc            construction and the loop (Run)
//   runner_schedule.cc   scopes and what is ready: the per-run decisions,
//                        from the DAG and the RunState, without threads
//   runner_eval.cc       the names a statement's expressions see
//   runner_waits.cc      approvals, timers, signals
//   runner_calls.cc      calls: resolving, arguments, budgets, cache, retries
//   runner_inline.cc     requests for the handler; entity, kv, kb calls
//   runner_executor.cc   worker threads and the recording of outcomes
//   runner_compensate.cc undos, calls in doubt, failed and cancelled ends
// Internal: included only by those files.
#ifndef AOS_RUNTIME_RUNNER_IMPL_H_
#define AOS_RUNTIME_RUNNER_IMPL_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lang/eval.h"
#include "runtime/entity_store.h"
#include "runtime/idempotency.h"
#include "runtime/runner.h"

namespace aos {

struct Runner::Impl {
  static Value M(ValueMap m) { return Value::MapOfUnique(std::move(m)); }
  static Value ErrorValue(const std::string& kind, const std::string& message, const std::string& step) {
    ValueMap m = {{S("kind"), S(kind)}, {S("message"), S(message)}};
    if (!step.empty()) m.emplace_back(S("step"), S(step));
    return M(std::move(m));
  }
  static std::string StrOf(const Value* v) {
    return v && v->kind() == ValueKind::kString ? v->as_string() : "";
  }

  RunLog& log;
  RunState& st;
  const Program& program;
  const Dag& dag;
  CallHandler& calls;
  Clock& clock;
  RunOptions opt;
  const WorkflowDecl& wf;

  // ---- static facts about the DAG, by node
  std::vector<uint32_t> pos;                   // index among its siblings
  std::vector<std::vector<uint32_t>> dependents;  // sibling nodes that wait for it
  std::vector<int> sibling_deps;
  // Names visible in a scope (by NameSlot, below): the node, and for body
  // names of a member for loop, that for's node id with `body` set.
  struct NameRef {
    uint32_t node;        // the statement, or for a body name the loop at this level
    bool body;
    uint32_t target = 0;  // body names: the statement inside the loop (any depth)
  };
  // Keys are views of the program's source, which outlives the run. By
  // NameSlot: 0 the top level, b + 1 the loop whose body is dag.bodies[b],
  // and the last (always empty) a loop without a body.
  using NameMap = std::unordered_map<std::string_view, NameRef>;
  std::vector<NameMap> names;
  size_t NameSlot(int32_t for_node) const {
    if (for_node < 0) return 0;
    const uint32_t b = dag.nodes[for_node].body;
    return b < dag.bodies.size() ? size_t{b} + 1 : names.size() - 1;
  }
  // The statements of the top level (for_node -1) or of a loop's body.
  const std::vector<uint32_t>& Members(int32_t for_node) const {
    return for_node < 0 ? dag.order : dag.Children(static_cast<uint32_t>(for_node));
  }

  // ---- scopes: the top level and one per for item
  struct Scope {
    int32_t for_node = -1;
    int parent = -1;
    std::string suffix;
    const std::string_view* loop_var = nullptr;
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

  // ---- calls in flight (runner_executor.cc)
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
  std::condition_variable cv_done;
  std::deque<Done> done;
  bool stopping = false;   // the run is ending: pool jobs not taken yet are skipped
  int async_started = 0;   // calls handed to the handler's loop or the shared pool
  int async_finished = 0;  // ... whose completion has run (or that were skipped)
  int in_flight = 0;
  std::unordered_map<std::string, bool> dispatched;

  // uuid() and retry jitter: one generator per thread, seeded once (seeding
  // from std::random_device per run cost 4% of serve's starts).
  static std::mt19937_64& Rng() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return rng;
  }
  bool redact_secrets = false;  // secret() evaluates to a placeholder
  // Every secret value secret() handed out in this process: masked in every
  // message the run records (RedactSecrets), whatever path it took there.
  std::set<std::string> secret_values;
  // The transform (name@vN) an instance's evaluation ran last, until it
  // completes: the provenance of the records it writes.
  std::map<std::string, const TransformDecl*> transforms_used;
  int64_t reserved_nanos = 0;   // budget held by model calls in flight
  std::unordered_map<std::string, int64_t> reserved;
  // Effects whose key another run is sending (idempotency.h): when to look
  // again, each look later than the one before, and who holds the key.
  struct KeyWait {
    int64_t due = 0;
    int turns = 0;
    std::string holder;
  };
  std::map<std::string, KeyWait> key_waits;

  Impl(RunLog& l, const Program& p, const Dag& d, CallHandler& c, Clock& k, RunOptions o);
  ~Impl() { StopWorkers(); }

  std::string Key(int scope, uint32_t node) const { return std::string(dag.nodes[node].name) + scopes[scope].suffix; }
  const Stmt& StmtOf(uint32_t node) const { return *dag.nodes[node].stmt; }

  // ====== evaluation (runner_eval.cc): the names a statement sees
  class InstEnv : public Env {
   public:
    InstEnv(Impl& r, int scope, std::string inst) : r_(r), scope_(scope), inst_(std::move(inst)) {}

    Lookup Find(std::string_view name, Value* out) const override;
    std::optional<Value> Nondeterministic(std::string_view fn, Span site) override;
    std::optional<Value> EnvVar(std::string_view name) override;
    std::optional<Value> Secret(std::string_view name) override;
    // A transform: run (runtime/transforms.h), its name@vN kept for the
    // provenance of what the statement writes.
    std::optional<EvalResult> Declared(std::string_view name, const std::vector<Value>& args) override;

    // Whether this evaluation read secret() or a value derived from one.
    bool touched_secret() const { return touched_secret_; }
    // Binds `it` (a patch's record) for this evaluation.
    void BindIt(const Value* it) { it_ = it; }

   private:
    Impl& r_;
    int scope_;
    std::string inst_;
    const Value* it_ = nullptr;
    mutable bool touched_secret_ = false;
  };

  // The results of statement `target` inside loop `loop` (an instance in
  // scope s), in item order; a list of lists when it sits in a nested loop.
  // Skipped items are null.
  Env::Lookup BodyList(int s, uint32_t loop, uint32_t target, Value* out);

  Env::Lookup LookupInstance(int scope, uint32_t node, Value* out);

  EvalResult Eval(const Expr& e, int scope, const std::string& inst);

  // Evaluate, with the message of an error withheld when the expression read
  // a secret: "int(): 'VALUE' is not an int" would quote it.
  static EvalResult EvalIn(const Expr& e, InstEnv& env);

  // Masks every secret value handed out in this process (the second line of
  // defence behind EvalIn: values travel into messages by many paths).
  std::string RedactSecrets(std::string message) const;

  // Evaluates e for instance `key`; on an error fails the statement (its
  // `what`: "argument", "condition", ...) and returns false.
  // `it`, when given, is bound for the evaluation (a patch's record).
  bool EvalOrFail(const Expr& e, int s, const std::string& key, Value* out, const char* what,
                  uint32_t node, const Value* it = nullptr);

  // The statement's `describe` text, evaluated in its scope (interpolation
  // included) for the trace; null when it has none or it does not evaluate.
  // A text that reads a secret is not recorded.
  Value Describe(const Stmt& stmt, int s, const std::string& key);

  // ====== scheduling (runner_schedule.cc): what is ready, from the DAG and
  // the state; no I/O beyond appending events
  int NewScope(int parent, int32_t for_node, std::string suffix);

  // Marks finished members (from the state), expands loops that were
  // expanded before, and queues the ready members when the scope is admitted.
  void Populate(int s);

  void QueueReady(int s);

  void MarkFinished(int s, uint32_t node, bool queue);

  // A loop item finished while running: admit the next, and complete the
  // loop with its last item.
  void ScopeDone(int s);

  // Admits items in order while fewer than `max` admitted ones are
  // unfinished, queueing their ready members; finished items need no slot.
  void AdmitMore(ForInfo& f);

  // Creates the child scopes of for instance (s, node) from its recorded
  // items, marks what already finished in them (a resumed run), and admits
  // the first items.
  void Expand(int s, uint32_t node);

  void Skip(int s, uint32_t node, const std::string& key);

  void Complete(int s, uint32_t node, const std::string& key, Value result);

  // One depth limit everywhere (value.h): a value that would be stored
  // deeper fails its statement rather than write an unreadable event.
  static std::string TooDeepMessage(const std::string& key);
  bool TooDeep(const std::string& key, const Value& v);

  void FailStep(const std::string& key, const std::string& kind, const std::string& raw_message);

  void Block(int s, uint32_t node) { blocked.emplace_back(s, node); }

  // Whether expression e refers to the name.
  static bool Mentions(const Expr& e, const std::string& name);

  // The instance of dependency `dep` seen from scope s: the sibling in s, or
  // the one in the enclosing scope that holds it.
  const Instance* DepInstance(int s, uint32_t dep);

  // A loop waits for what its body refers to outside it (the checker lifts
  // those references onto the loop), but only its own expression, `when`
  // and `after` decide whether the loop itself is skipped: a body statement
  // that refers to a skipped statement is skipped per item.
  bool LiftedFromBody(const Stmt& stmt, const Dep& dep) const;

  // Whether the statement must be skipped or fails before it starts.
  // Returns true when it was settled (skipped or failed).
  bool PreCheck(int s, uint32_t node, const std::string& key);

  void Advance(int s, uint32_t node);

  void AdvanceFor(int s, uint32_t node, const std::string& key, Instance& in);

  // ====== waits (runner_waits.cc): approvals (the statement, an effect's
  // confirm gate, escalations), timers, signals
  void RequestApproval(const std::string& key, const std::string& purpose, const std::string& ask,
                       const Value& payload, int64_t due, const std::string& on_timeout,
                       const Value& approvers = Value(), const std::string& explain = "");

  // Times out an undecided approval when its due time has passed; true when
  // a decision now exists.
  bool TimeoutApproval(const std::string& key, Instance& in);

  static Value DecisionResult(const Instance& in);

  void AdvanceApproval(int s, uint32_t node, const std::string& key, Instance& in);

  void AdvanceWait(int s, uint32_t node, const std::string& key, Instance& in);

  static std::string SignalName(const Stmt& stmt) { return stmt.waits().event.empty() ? std::string(stmt.name) : stmt.waits().event; }

  void AdvanceSignal(int s, uint32_t node, const std::string& key, Instance& in);

  // ====== calls (runner_calls.cc): resolving, arguments, budgets, the
  // cache, retries; AdvanceCall starts an attempt
  // ---- budgets (language.md §7)
  // The workflow's budget in billionths, or -1 without one.
  int64_t BudgetNanos() const;

  // a + b, saturating at the int64 limits.
  static int64_t SatAdd(int64_t a, int64_t b);

  // A model call's cost before it is made, at the config's prices: the one
  // estimate `aoscheck plan` shows too (lang/model_cost.h).
  int64_t EstimateNanos(const CallRequest& req) const;

  // Whether the model call may start: spending so far plus its estimate
  // within the budget. Past it, the call waits for the operator (approve
  // raises the budget by its original amount; reject fails the call with
  // budget.exceeded).
  bool BudgetAllows(int s, uint32_t node, const std::string& key, const CallRequest& req);
  // Every cap that applies to this run's model calls (runner_budgets.cc):
  // the run's budget, or the workflow's per period; the config's budgets.
  struct BudgetCap {
    int64_t amount, spent;
    std::string currency;
    std::string what;  // "the budget of " (an amount follows)
  };
  std::vector<BudgetCap> BudgetCaps();
  // The ledger of spending across runs: this run's keys as written, and
  // the cost of a completed (or paid-for failed) call added to them.
  std::map<std::string, int64_t> ledger;
  void Spend(const Value& usage);
  int64_t PeriodSpent(const std::string& prefix);
  static std::string PeriodKey(int64_t nanos, bool month);  // "2026-11" or "2026-11-30", UTC

  // ---- the cache modifier and the inference cache (runtime.md §7)
  // Not a security boundary: a 64-bit digest (docs/runtime.md). For model
  // calls the resolved endpoint and model id take part, so that changing
  // the config does not answer from another model's entries.
  std::string CacheKey(const CallRequest& req) const;

  // A hit is recorded as a completion marked `cache: hit`, with zero cost.
  void CacheHit(int s, uint32_t node, const std::string& key, const CallRequest& req, Value value);

  // On a fresh result of a `cache` statement: keep it for the TTL (default
  // one day), written with the step's completion.
  void CacheStore(uint32_t node, const std::string& cache_key, const Value& value);

  static const TypeRef* AgentOutput(const AgentDecl& agent);

  // A typed agent's answer must fit its output type: a mismatch is an
  // llm.schema failure (retried by default, with the mismatch fed back).
  void CheckTypedAnswer(uint32_t node, CallResult& r);

  // Where a call goes, as the checker resolved it (lang/builtins.h).
  CallTarget Target(const Call& call) const { return program.Target(call); }

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

  bool EvalArgs(const Call& call, int s, const std::string& key, uint32_t node, Args* out);

  static std::string Upper(std::string m);


  // ====== inline calls (runner_inline.cc): requests for the handler, and
  // the entity, kv and kb calls that run in the process

  // The knowledge base: an embedding came back for kb.add (store the entry
  // with the step's completion) or kb.search (rank the collection by cosine
  // similarity, best first).
  void FinishKb(const Job& job, CallResult& r);

  // Builds the handler request of an http, connector, model, kb or email
  // call (by the method's CallOp). false with *error_kind/*error when it
  // cannot be made.
  bool BuildRequest(const CallTarget& k, const Args& a, int s, const std::string& key,
                    CallRequest* req, std::string* error_kind, std::string* error);
  // Its parts: an HTTP request (the connector's settings applied and its
  // allow list checked), a model call (an agent's settings applied).
  bool HttpRequest(const CallTarget& k, const Args& a, int s, const std::string& key, CallRequest* req,
                   std::string* error_kind, std::string* error);
  void ChatRequest(const CallTarget& k, const Args& a, int s, const std::string& key, CallRequest* req);

  // Entity and kv calls: run here, written with the step's completion.
  // false for a call that is not one of them.
  bool InlineCall(const CallTarget& k, const Args& a, int s, uint32_t node, const std::string& key);
  void InlineKv(const CallTarget& k, const Args& a, int s, uint32_t node, const std::string& key);

  // ====== entity calls (runner_entities.cc; its head shows the layout)
  void InlineEntity(const TypeDecl& et, CallOp op, const Args& a, int s, uint32_t node, const std::string& key);
  // Whether the stored schema of et has this program's shape; else the step
  // fails with entity.schema (checked once per type and run).
  bool ShapeAgrees(const TypeDecl& et, const std::string& key);
  std::map<std::string, int> shape_checked;  // type -> 0 agrees, else the stored version
  void InlineUpsert(const TypeDecl& et, const Args& a, int s, uint32_t node, const std::string& key);
  void InlinePatch(const TypeDecl& et, const Args& a, int s, uint32_t node, const std::string& key);
  void InlineList(const TypeDecl& et, const Args& a, int s, uint32_t node, const std::string& key);
  void InlineFind(const TypeDecl& et, const Args& a, int s, uint32_t node, const std::string& key);
  void InlineResolve(const TypeDecl& et, const Args& a, int s, uint32_t node, const std::string& key);
  void InlineNote(const TypeDecl& et, const Args& a, int s, uint32_t node, const std::string& key);
  // E.summary (state.md §4): when nothing happened to the record since its
  // kept summary, completes the step with it (no model call) and returns
  // true; else SummaryRequest asks the model about what is new, and
  // FinishSummary keeps the answer with the step's completion.
  bool SummaryFromStore(const TypeDecl& et, const Args& a, int s, uint32_t node, const std::string& key);
  bool SummaryRequest(const TypeDecl& et, const Args& a, CallRequest* req, std::string* error_kind,
                      std::string* error);
  void FinishSummary(const CallRequest& req, const CallResult& r);
  // A model request that summarizes `texts`, after `previous` when given.
  static Value SummaryArgs(const Value& model, const Value& max_tokens, const std::string& previous,
                           const std::vector<std::string>& texts);
  // A history entry's run, step, kind and time (entities::NextAt) for a
  // change of record `id` by instance `key`.
  entities::Change ChangeFor(const std::string& type, const std::string& id, const std::string& key, const char* kind);
  // A key a record cannot have (it holds NUL, which separates the parts of
  // the store's keys): fails the step.
  bool BadKey(const TypeDecl& et, const std::string& key, const std::string& id);
  // Writes record `id` (null `after`: deletes it) in the batch with its
  // index entries, provenance and history (runtime/entity_store.h), and
  // appends EntityChanged. `kind` and `extra`: the history entry's.
  void WriteRecord(const TypeDecl& et, const std::string& id, const Value& before, const Value& after,
                   const std::string& key, const char* kind = "changed", Value extra = Value());
  // The stored record of entity `type` with key `id`; null when absent.
  Value LoadRecord(const std::string& type, const std::string& id);
  // The key `id` leads to: itself when stored, else the record it was merged into.
  std::string Follow(const std::string& type, const std::string& id);
  // The records whose `field` has the encoded value: by the index, which
  // the first use builds.
  std::vector<std::pair<std::string, Value>> Indexed(const TypeDecl& et, std::string_view field,
                                                     const std::string& enc);
  // The stored records an identity value leads to (merged ones to their survivor).
  std::set<std::string> IdentityKeys(const TypeDecl& et, std::string_view field, const Value& value);
  // The stored records that are the same as `rec` (at key id, "" for none,
  // where `stored` is): through its identities and theirs, oldest first.
  std::vector<std::string> SameRecords(const TypeDecl& et, const std::string& id, const Value& stored,
                                       const Value& rec);
  std::set<std::string> built_marks;  // index marks seen in the store (Indexed)
  // A key for a record given by its identities only; "" when it has none.
  std::string NewKey(const TypeDecl& et, const Value& rec);
  // Whether every ref<T> field of `rec` names a stored T record; else the
  // step fails with entity.ref.
  bool RefsExist(const TypeDecl& et, const Value& rec, const std::string& key);

  Store& StoreOf() { return log.store(); }

  const RetrySpec* RetryOf(const Stmt& stmt) const;

  static bool Retryable(const RetrySpec* r, const std::string& kind);

  // The cross-run idempotency record of an effect key: workflow \0 key.
  std::string IdempotencyKey(const std::string& key) const { return IdempotencyRecordKey(wf.name, key); }

  // Reads of the store (entities, kv, kb) must see this run's own pending
  // writes: flush them first.
  void SeeOwnWrites();

  // A call statement's next step: its escalation answered, its retry due,
  // room under the concurrency bound, arguments, then (effects) the key
  // and the confirm gate, the cache, the budget, and an attempt.
  void AdvanceCall(int s, uint32_t node, const std::string& key, Instance& in);
  // An escalation of the statement waiting for, or answered by, the
  // operator; true when that settled this step (blocked, failed, skipped).
  bool Escalated(int s, uint32_t node, const std::string& key, Instance& in);
  // An effect's key (*ekey), a key conflict within the run, a result
  // recorded under the key (this run's or an earlier run's), the confirm
  // gate: true when the effect may be attempted now.
  bool EffectMayGo(int s, uint32_t node, const std::string& key, const Args& a, std::string* ekey);
  bool Confirmed(int s, uint32_t node, const std::string& key, const std::string& ekey);
  // The effect's key claimed across runs (idempotency.h) before its
  // intent: true when this instance may send; else it completed with the
  // recorded result, or waits for the run that holds the key.
  bool ClaimKey(int s, uint32_t node, const std::string& key, const std::string& ekey);
  // Key waits this run waited on before (its RunWaiting's effect_key
  // entries): looks go on from the same turn, not every second again.
  void SeedKeyWaits();
  // Gives up this instance's claim of its effect key (its effect failed
  // for good, or the operator skipped it), in the batch being written.
  void DropClaim(const std::string& key);
  // A `cache` statement answered from the cache (*ckey: where a fresh
  // result will go).
  bool CachedAnswer(int s, uint32_t node, const std::string& key, const CallRequest& req, std::string* ckey);
  // Records the attempt (and an effect's intent, synced) and dispatches it.
  void StartAttempt(int s, uint32_t node, const std::string& key, const Args& a, const std::string& ekey,
                    CallRequest req, std::string ckey);

  // What an effect's intent records of its request: the callee and the
  // evaluated arguments.
  static std::string RequestDigest(const Call& call, const Args& a);

  // ====== the executor (runner_executor.cc): the handler's own loop (HTTP)
  // or the process's shared CallPool (blocking calls) runs the calls;
  // Finish records their outcome
  void Dispatch(Job job);

  // Waits until no call in flight can reach this runner any more.
  void StopWorkers();

  // Waits for finished calls (at most until `deadline`, 0: no bound) and
  // records them.
  void Collect(int64_t deadline);

  void Finish(Done& d);

  // The delay before the next attempt after `failures` failed ones: the
  // policy's backoff (with its factor, cap and jitter), or the server's
  // Retry-After when longer; a year at most.
  int64_t BackoffMs(const RetrySpec* spec, int failures, int64_t retry_after_ms);

  void OnAttemptFailed(int s, uint32_t node, const std::string& key, const CallResult& raw);

  // What a model call's answer says it used: {model, tokens_in, tokens_out, cost}.
  static Value ModelUsage(const Value& answer);

  // ====== compensation and ending (runner_compensate.cc)
  bool WantsCompensation() const;

  // instance -> (scope, node), built when compensation needs it.
  void IndexInstances();

  // Undoes the completed effects in reverse completion order. Returns false
  // when an undo failed with a retryable kind after its attempts: the run then
  // waits (resume tries again) instead of ending as if compensated; *waiting
  // says which undo and until when.
  bool Compensate(bool cancel, Value* waiting);
  // Its parts: the undo's request (the compensate call's arguments
  // evaluated in the effect's scope), and carrying it out once (a recorded
  // result is reused; retries as the effect's policy says, at least two).
  bool UndoRequest(const Call& call, int s, const std::string& inst, CallRequest* req, std::string* why);
  enum class Undo { kDone, kFailed, kWaiting };
  Undo RunUndo(uint32_t node, const std::string& inst, const CallRequest& req, bool cancel, Value* waiting,
               std::string* why);

  // Effects whose intent is recorded but whose outcome is not (the process
  // died during the call): attempted again with the same key before the run
  // ends, so that what happened is known and can be compensated.
  void SettleInDoubt();

  // Ends a failing or cancelled run: settles calls in doubt, compensates,
  // records RunFailed/RunCancelled (or RunWaiting when an undo must wait).
  RunOutcome EndFailed(bool cancelled);

  // ====== the loop (runner.cc, with scheduling's Build and RecheckBlocked)
  // (Re)builds the scopes from the DAG and the state.
  void Build();

  // What the run waits on, as RunWaiting records it.
  Value WaitingList();

  // The earliest time a blocked statement may move by itself; 0: none.
  int64_t NextDue();

  // Advances the blocked statements again (a decision, a signal or a due
  // time may have come).
  void RecheckBlocked();

  RunOutcome Run();
};

}  // namespace aos

#endif  // AOS_RUNTIME_RUNNER_IMPL_H_
