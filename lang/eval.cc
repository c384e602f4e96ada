#include "lang/eval.h"

#include "lang/eval_functions.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace aos {

void MapEnv::Set(std::string name, Value v) {
  for (auto& e : entries_) {
    if (e.name == name) {
      e.how = Lookup::kFound;
      e.value = std::move(v);
      return;
    }
  }
  entries_.push_back(Entry{std::move(name), Lookup::kFound, std::move(v)});
}

void MapEnv::SetSkipped(std::string name) {
  entries_.push_back(Entry{std::move(name), Lookup::kSkipped, Value()});
}

void MapEnv::SetUnknown(std::string name) {
  entries_.push_back(Entry{std::move(name), Lookup::kUnknown, Value()});
}

Env::Lookup MapEnv::Find(std::string_view name, Value* out) const {
  for (const auto& e : entries_) {
    if (e.name == name) {
      if (e.how == Lookup::kFound) *out = e.value;
      return e.how;
    }
  }
  return Lookup::kUnbound;
}

namespace {

class Evaluator {
 public:
  Evaluator(Env& env, const EvalLimits& limits) : env_(env), limits_(limits) {}

  EvalResult Eval(const Expr& e) {
    if (++depth_ > limits_.max_depth) {
      --depth_;
      return Err(e, "expression nested too deeply");
    }
    EvalResult r = Charge(e, 1) ? Dispatch(e) : Err(e, "evaluation cost limit exceeded");
    --depth_;
    return r;
  }

 private:
  static EvalError MakeErr(const Expr& e, std::string msg, std::string kind = "expr.error") {
    return EvalError{std::move(kind), std::move(msg), e.span};
  }
  EvalResult Err(const Expr& e, std::string msg) { return MakeErr(e, std::move(msg)); }

  bool Charge(const Expr&, uint64_t units) {
    cost_ += units;
    return cost_ <= limits_.max_cost;
  }
  bool ChargeSize(size_t n) {
    cost_ += (n + 63) / 64;
    return cost_ <= limits_.max_cost;
  }

  EvalResult Dispatch(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kLiteral:
        return e.literal();
      case ExprKind::kIdent:
        return Ident(e);
      case ExprKind::kMember: {
        EvalResult obj = Eval(*e.args()[0]);
        if (!obj.ok()) return obj;
        return Member(e, obj.value(), std::string(e.name()));
      }
      case ExprKind::kIndex: {
        EvalResult obj = Eval(*e.args()[0]);
        if (!obj.ok()) return obj;
        EvalResult idx = Eval(*e.args()[1]);
        if (!idx.ok()) return idx;
        return Index(e, obj.value(), idx.value());
      }
      case ExprKind::kCall:
        return Call(e);
      case ExprKind::kUnary:
        return Unary(e);
      case ExprKind::kBinary:
        return Binary(e);
      case ExprKind::kCond: {
        EvalResult c = Eval(*e.args()[0]);
        if (!c.ok()) return c;
        if (c.value().kind() != ValueKind::kBool) {
          return Err(*e.args()[0], std::string("a condition must be bool, not ") +
                                     KindName(c.value().kind()));
        }
        return Eval(*e.args()[c.value().as_bool() ? 1 : 2]);
      }
      case ExprKind::kList: {
        ValueList items;
        items.reserve(e.args().size());
        for (const auto& a : e.args()) {
          EvalResult r = Eval(*a);
          if (!r.ok()) return r;
          items.push_back(std::move(r.value()));
        }
        if (!ChargeSize(items.size() * 8)) return Err(e, "evaluation cost limit exceeded");
        return Value::List(std::move(items));
      }
      case ExprKind::kMap: {
        ValueMap entries;
        for (size_t i = 0; i + 1 < e.args().size(); i += 2) {
          EvalResult k = Eval(*e.args()[i]);
          if (!k.ok()) return k;
          const ValueKind kk = k.value().kind();
          if (kk != ValueKind::kString && kk != ValueKind::kInt && kk != ValueKind::kUint &&
              kk != ValueKind::kBool) {
            return Err(*e.args()[i], std::string("map keys must be string, int, uint or bool, not ") +
                                       KindName(kk));
          }
          for (const auto& [ek, ev] : entries) {
            if (ek == k.value()) {
              return Err(*e.args()[i], "duplicate map key " + k.value().ToJson());
            }
          }
          EvalResult v = Eval(*e.args()[i + 1]);
          if (!v.ok()) return v;
          entries.emplace_back(std::move(k.value()), std::move(v.value()));
        }
        if (!ChargeSize(entries.size() * 8)) return Err(e, "evaluation cost limit exceeded");
        return Value::Map(std::move(entries));
      }
      case ExprKind::kInterp: {
        std::string out;
        for (const auto& a : e.args()) {
          EvalResult r = Eval(*a);
          if (!r.ok()) return r;
          out += r.value().ToDisplayString();
          if (!ChargeSize(out.size() / 8)) return Err(e, "evaluation cost limit exceeded");
        }
        return Value::String(std::move(out));
      }
    }
    return Err(e, "unknown expression");
  }

  EvalResult Ident(const Expr& e) {
    for (auto it = locals_.rbegin(); it != locals_.rend(); ++it) {
      if (it->first == e.name()) return it->second;
    }
    Value v;
    switch (env_.Find(e.name(), &v)) {
      case Env::Lookup::kFound:
        return v;
      case Env::Lookup::kSkipped:
        return MakeErr(e, "'" + std::string(e.name()) + "' was skipped", "expr.skipped");
      case Env::Lookup::kUnknown:
        return MakeErr(e, "'" + std::string(e.name()) + "' has no value yet", "expr.unknown");
      case Env::Lookup::kUnbound:
        break;
    }
    static const char* types[] = {"int",  "uint",      "double",   "string", "bool",
                                  "bytes", "list",     "map",      "null_type", "type",
                                  "timestamp", "duration", "money"};
    for (const char* t : types) {
      if (e.name() == t) return Value::Type(std::string(e.name()));
    }
    return Err(e, "unknown name '" + std::string(e.name()) + "'");
  }

  EvalResult Member(const Expr& e, const Value& obj, const std::string& name) {
    if (obj.kind() != ValueKind::kMap) {
      return Err(e, std::string("cannot select field '") + name + "' of " + KindName(obj.kind()));
    }
    if (const Value* v = obj.Find(name)) return *v;
    return Err(e, "no such key: '" + name + "'");
  }

  EvalResult Index(const Expr& e, const Value& obj, const Value& idx) {
    if (obj.kind() == ValueKind::kList) {
      const auto& l = obj.as_list();
      int64_t i;
      if (idx.kind() == ValueKind::kInt) {
        i = idx.as_int();
      } else if (idx.kind() == ValueKind::kUint && idx.as_uint() <= INT64_MAX) {
        i = static_cast<int64_t>(idx.as_uint());
      } else if (idx.kind() == ValueKind::kDouble && idx.as_double() == std::floor(idx.as_double()) &&
                 std::fabs(idx.as_double()) < 9e18) {
        i = static_cast<int64_t>(idx.as_double());
      } else {
        return Err(e, std::string("a list index must be int, not ") + KindName(idx.kind()));
      }
      if (i < 0 || static_cast<uint64_t>(i) >= l.size()) {
        return Err(e, "index " + std::to_string(i) + " out of range for a list of " +
                          std::to_string(l.size()));
      }
      return l[static_cast<size_t>(i)];
    }
    if (obj.kind() == ValueKind::kMap) {
      if (const Value* v = obj.Find(idx)) return *v;
      return Err(e, "no such key: " + idx.ToJson());
    }
    return Err(e, std::string("cannot index a value of type ") + KindName(obj.kind()));
  }

  EvalResult Unary(const Expr& e) {
    EvalResult r = Eval(*e.args()[0]);
    if (!r.ok()) return r;
    const Value& v = r.value();
    if (e.name() == "!") {
      if (v.kind() != ValueKind::kBool) return Err(e, std::string("no such overload: !") + KindName(v.kind()));
      return Value::Bool(!v.as_bool());
    }
    switch (v.kind()) {
      case ValueKind::kInt:
        if (v.as_int() == INT64_MIN) return Err(e, "integer overflow in -int");
        return Value::Int(-v.as_int());
      case ValueKind::kDouble:
        return Value::Double(-v.as_double());
      case ValueKind::kDuration:
        if (v.as_duration().nanos == INT64_MIN) return Err(e, "duration overflow");
        return Value::Dur(Duration{-v.as_duration().nanos});
      case ValueKind::kMoney: {
        Money m = v.as_money();
        if (m.nanos == INT64_MIN) return Err(e, "money overflow");
        m.nanos = -m.nanos;
        return Value::MoneyOf(m);
      }
      default:
        return Err(e, std::string("no such overload: -") + KindName(v.kind()));
    }
  }

  EvalResult Overload(const Expr& e, const Value& a, const Value& b) {
    std::string msg = std::string("no such overload: ") + KindName(a.kind()) + " " + std::string(e.name()) + " " +
                      KindName(b.kind());
    return Err(e, msg);
  }

  EvalResult Binary(const Expr& e) {
    const std::string_view op = e.name();
    if (op == "&&" || op == "||") return Logical(e);
    EvalResult ra = Eval(*e.args()[0]);
    if (!ra.ok()) return ra;
    EvalResult rb = Eval(*e.args()[1]);
    if (!rb.ok()) return rb;
    const Value& a = ra.value();
    const Value& b = rb.value();
    const ValueKind ka = a.kind(), kb = b.kind();
    if (op == "==") return Value::Bool(a == b);
    if (op == "!=") return Value::Bool(a != b);
    if (op == "in") {
      if (kb == ValueKind::kList) {
        if (!ChargeSize(b.as_list().size())) return Err(e, "evaluation cost limit exceeded");
        for (const auto& x : b.as_list()) {
          if (x == a) return Value::Bool(true);
        }
        return Value::Bool(false);
      }
      if (kb == ValueKind::kMap) return Value::Bool(b.Find(a) != nullptr);
      return Overload(e, a, b);
    }
    if (op == "<" || op == "<=" || op == ">" || op == ">=") {
      int c;
      if (IsNum(ka) && IsNum(kb)) {
        c = CompareNumbers(a, b);
        if (c == kUnordered) return Value::Bool(false);  // NaN: every order is false
      } else if (ka != kb) {
        return Overload(e, a, b);
      } else if (ka == ValueKind::kString) {
        c = a.as_string().compare(b.as_string());
        c = c < 0 ? -1 : c > 0;
      } else if (ka == ValueKind::kBytes) {
        c = a.as_bytes().compare(b.as_bytes());
        c = c < 0 ? -1 : c > 0;
      } else if (ka == ValueKind::kBool) {
        c = a.as_bool() - b.as_bool();
      } else if (ka == ValueKind::kTimestamp) {
        c = a.as_time().nanos < b.as_time().nanos ? -1 : a.as_time().nanos > b.as_time().nanos;
      } else if (ka == ValueKind::kDuration) {
        c = a.as_duration().nanos < b.as_duration().nanos ? -1
                                                          : a.as_duration().nanos > b.as_duration().nanos;
      } else if (ka == ValueKind::kMoney && a.as_money().currency == b.as_money().currency) {
        c = a.as_money().nanos < b.as_money().nanos ? -1 : a.as_money().nanos > b.as_money().nanos;
      } else {
        return Overload(e, a, b);
      }
      if (op == "<") return Value::Bool(c < 0);
      if (op == "<=") return Value::Bool(c <= 0);
      if (op == ">") return Value::Bool(c > 0);
      return Value::Bool(c >= 0);
    }
    return Arithmetic(e, a, b);
  }

  EvalResult Logical(const Expr& e) {
    const bool is_and = e.name() == "&&";
    EvalResult ra = Eval(*e.args()[0]);
    // CEL: false && x is false and true || x is true, whatever x is (errors
    // included), in either order.
    auto decides = [&](const EvalResult& r) {
      return r.ok() && r.value().kind() == ValueKind::kBool && r.value().as_bool() != is_and;
    };
    if (decides(ra)) return Value::Bool(!is_and);
    EvalResult rb = Eval(*e.args()[1]);
    if (decides(rb)) return Value::Bool(!is_and);
    if (!ra.ok()) return ra;
    if (!rb.ok()) return rb;
    if (ra.value().kind() != ValueKind::kBool || rb.value().kind() != ValueKind::kBool) {
      return Overload(e, ra.value(), rb.value());
    }
    return Value::Bool(is_and);  // both true for &&, both false for ||
  }

  EvalResult Arithmetic(const Expr& e, const Value& a, const Value& b) {
    const std::string_view op = e.name();
    const ValueKind ka = a.kind(), kb = b.kind();
    const char o = op[0];
    if (ka == ValueKind::kInt && kb == ValueKind::kInt) {
      int64_t x = a.as_int(), y = b.as_int(), r = 0;
      bool overflow = false;
      switch (o) {
        case '+': overflow = __builtin_add_overflow(x, y, &r); break;
        case '-': overflow = __builtin_sub_overflow(x, y, &r); break;
        case '*': overflow = __builtin_mul_overflow(x, y, &r); break;
        case '/':
        case '%':
          if (y == 0) return Err(e, o == '/' ? "division by zero" : "modulus by zero");
          if (x == INT64_MIN && y == -1) {
            overflow = o == '/';
            r = 0;
          } else {
            r = o == '/' ? x / y : x % y;
          }
          break;
      }
      if (overflow) return Err(e, "integer overflow in int " + std::string(op) + " int");
      return Value::Int(r);
    }
    if (ka == ValueKind::kUint && kb == ValueKind::kUint) {
      uint64_t x = a.as_uint(), y = b.as_uint(), r = 0;
      bool overflow = false;
      switch (o) {
        case '+': overflow = __builtin_add_overflow(x, y, &r); break;
        case '-': overflow = __builtin_sub_overflow(x, y, &r); break;
        case '*': overflow = __builtin_mul_overflow(x, y, &r); break;
        case '/':
        case '%':
          if (y == 0) return Err(e, o == '/' ? "division by zero" : "modulus by zero");
          r = o == '/' ? x / y : x % y;
          break;
      }
      if (overflow) return Err(e, "integer overflow in uint " + std::string(op) + " uint");
      return Value::Uint(r);
    }
    if (ka == ValueKind::kDouble && kb == ValueKind::kDouble) {
      const double x = a.as_double(), y = b.as_double();
      switch (o) {
        case '+': return Value::Double(x + y);
        case '-': return Value::Double(x - y);
        case '*': return Value::Double(x * y);
        case '/': return Value::Double(x / y);  // IEEE: 1.0 / 0.0 is +inf
        default: return Overload(e, a, b);
      }
    }
    if (o == '+' && ka == kb) {
      if (ka == ValueKind::kString) {
        if (!ChargeSize(a.as_string().size() + b.as_string().size())) {
          return Err(e, "evaluation cost limit exceeded");
        }
        return Value::String(a.as_string() + b.as_string());
      }
      if (ka == ValueKind::kBytes) return Value::BytesOf(a.as_bytes() + b.as_bytes());
      if (ka == ValueKind::kList) {
        if (!ChargeSize((a.as_list().size() + b.as_list().size()) * 8)) {
          return Err(e, "evaluation cost limit exceeded");
        }
        ValueList l = a.as_list();
        l.insert(l.end(), b.as_list().begin(), b.as_list().end());
        return Value::List(std::move(l));
      }
    }
    // Durations and timestamps.
    auto dur = [&](int64_t x, int64_t y, bool add) -> EvalResult {
      int64_t r;
      if (add ? __builtin_add_overflow(x, y, &r) : __builtin_sub_overflow(x, y, &r)) {
        return Err(e, "duration overflow");
      }
      return Value::Dur(Duration{r});
    };
    if (ka == ValueKind::kDuration && kb == ValueKind::kDuration && (o == '+' || o == '-')) {
      return dur(a.as_duration().nanos, b.as_duration().nanos, o == '+');
    }
    if (ka == ValueKind::kTimestamp && kb == ValueKind::kDuration && (o == '+' || o == '-')) {
      EvalResult r = dur(a.as_time().nanos, b.as_duration().nanos, o == '+');
      if (!r.ok()) return Err(e, "timestamp overflow");
      return Value::Time(Timestamp{r.value().as_duration().nanos});
    }
    if (ka == ValueKind::kDuration && kb == ValueKind::kTimestamp && o == '+') {
      EvalResult r = dur(b.as_time().nanos, a.as_duration().nanos, true);
      if (!r.ok()) return Err(e, "timestamp overflow");
      return Value::Time(Timestamp{r.value().as_duration().nanos});
    }
    if (ka == ValueKind::kTimestamp && kb == ValueKind::kTimestamp && o == '-') {
      return dur(a.as_time().nanos, b.as_time().nanos, false);
    }
    // Money.
    if (ka == ValueKind::kMoney && kb == ValueKind::kMoney && (o == '+' || o == '-')) {
      if (a.as_money().currency != b.as_money().currency) {
        return Err(e, "cannot mix currencies: " + a.as_money().currency.str() + " " + std::string(op) + " " +
                          b.as_money().currency.str());
      }
      int64_t r;
      if (o == '+' ? __builtin_add_overflow(a.as_money().nanos, b.as_money().nanos, &r)
                   : __builtin_sub_overflow(a.as_money().nanos, b.as_money().nanos, &r)) {
        return Err(e, "money overflow");
      }
      return Value::MoneyOf(Money{r, a.as_money().currency});
    }
    const bool money_left = ka == ValueKind::kMoney;
    const bool money_right = kb == ValueKind::kMoney;
    if ((money_left || money_right) && (o == '*' || (o == '/' && money_left))) {
      const Value& m = money_left ? a : b;
      const Value& n = money_left ? b : a;
      if (n.kind() == ValueKind::kInt) {
        int64_t r;
        if (o == '*') {
          if (__builtin_mul_overflow(m.as_money().nanos, n.as_int(), &r)) return Err(e, "money overflow");
        } else {
          if (n.as_int() == 0) return Err(e, "division by zero");
          r = m.as_money().nanos / n.as_int();
        }
        return Value::MoneyOf(Money{r, m.as_money().currency});
      }
      if (n.kind() == ValueKind::kDouble) {
        const double f = o == '*' ? n.as_double() : 1.0 / n.as_double();
        if (o == '/' && n.as_double() == 0.0) return Err(e, "division by zero");
        const double r = std::round(static_cast<double>(m.as_money().nanos) * f);
        if (!(std::fabs(r) < 9.2e18)) return Err(e, "money overflow");
        return Value::MoneyOf(Money{static_cast<int64_t>(r), m.as_money().currency});
      }
    }
    return Overload(e, a, b);
  }

  // ------------------------------------------------------------ calls
  EvalResult Call(const Expr& e) {
    const std::string n(e.name());
    if (e.has_receiver && IsMacro(n)) return Macro(e);
    if (!e.has_receiver && n == "has") return Has(e);
    if (!e.has_receiver && (n == "default" || n == "coalesce")) return Default(e);
    std::vector<Value> args;
    args.reserve(e.args().size());
    for (const auto& a : e.args()) {
      EvalResult r = Eval(*a);
      if (!r.ok()) return r;
      args.push_back(std::move(r.value()));
    }
    if (!e.has_receiver) {
      if (auto r = env_.Declared(n, args)) {
        if (!r->ok() && r->error().span.end == 0) return EvalError{r->error().kind, r->error().message, e.span};
        return std::move(*r);
      }
    }
    FunctionContext ctx{env_, cost_, limits_,
                        [this](const Expr& at, const Value& a, const Value& b) { return Arithmetic(at, a, b); }};
    return CallFunction(e, n, args, ctx);
  }

  EvalResult Has(const Expr& e) {
    if (e.args().size() != 1 || e.args()[0]->kind != ExprKind::kMember) {
      return Err(e, "has() takes one field selection, as in has(a.b)");
    }
    EvalResult obj = Eval(*e.args()[0]->args()[0]);
    if (!obj.ok()) return obj;
    if (obj.value().kind() != ValueKind::kMap) {
      return Err(e, std::string("has() needs a map, not ") + KindName(obj.value().kind()));
    }
    return Value::Bool(obj.value().Find(e.args()[0]->name()) != nullptr);
  }

  EvalResult Default(const Expr& e) {
    if (e.args().size() < 2) return Err(e, std::string(e.name()) + "() takes at least two arguments");
    const bool is_default = e.name() == "default";
    if (is_default && e.args().size() != 2) return Err(e, "default() takes two arguments");
    for (size_t i = 0; i < e.args().size(); ++i) {
      const bool last = i + 1 == e.args().size();
      EvalResult r = Eval(*e.args()[i]);
      if (last) return r;
      if (r.ok()) {
        if (!r.value().is_null()) return r;
        continue;
      }
      const EvalError& err = r.error();
      const bool absorbed = err.kind == "expr.skipped" ||
                            err.message.rfind("no such key", 0) == 0 ||
                            err.message.rfind("cannot select field", 0) == 0;
      if (!absorbed) return r;
    }
    return Value();
  }

  EvalResult Macro(const Expr& e) {
    const std::string n(e.name());
    if (e.args().size() < 3 || e.args()[1]->kind != ExprKind::kIdent ||
        (e.args().size() > 3 && n != "map") || e.args().size() > 4) {
      return Err(e, n + "() takes a variable name and an expression, as in l." + n + "(x, x > 0)");
    }
    EvalResult coll = Eval(*e.args()[0]);
    if (!coll.ok()) return coll;
    ValueList items;
    if (coll.value().kind() == ValueKind::kList) {
      items = coll.value().as_list();
    } else if (coll.value().kind() == ValueKind::kMap) {
      for (const auto& [k, v] : coll.value().as_map()) items.push_back(k);
    } else {
      return Err(*e.args()[0], n + "() needs a list or a map, not " + KindName(coll.value().kind()));
    }
    const std::string var(e.args()[1]->name());
    ValueList out;
    int count = 0;
    bool any_error = false;
    EvalError first_error;
    for (const Value& item : items) {
      locals_.emplace_back(var, item);
      EvalResult r = Eval(*e.args()[2]);
      if (r.ok() && n == "map" && e.args().size() == 4) {
        // map(x, filter, transform)
        if (r.value().kind() != ValueKind::kBool) {
          locals_.pop_back();
          return Err(*e.args()[2], "the filter of map() must be bool");
        }
        if (!r.value().as_bool()) {
          locals_.pop_back();
          continue;
        }
        r = Eval(*e.args()[3]);
      }
      locals_.pop_back();
      if (n == "map") {
        if (!r.ok()) return r;
        out.push_back(std::move(r.value()));
        continue;
      }
      if (!r.ok()) {
        // all/exists absorb errors when another element decides the result.
        if (n == "filter" || n == "exists_one") return r;
        if (!any_error) first_error = r.error();
        any_error = true;
        continue;
      }
      if (r.value().kind() != ValueKind::kBool) {
        return Err(*e.args()[2], "the predicate of " + n + "() must be bool, not " +
                                   KindName(r.value().kind()));
      }
      const bool b = r.value().as_bool();
      if (n == "all" && !b) return Value::Bool(false);
      if (n == "exists" && b) return Value::Bool(true);
      if (n == "exists_one" && b) ++count;
      if (n == "filter" && b) out.push_back(item);
    }
    if (n == "map" || n == "filter") return Value::List(std::move(out));
    if (any_error) return first_error;
    if (n == "all") return Value::Bool(true);
    if (n == "exists") return Value::Bool(false);
    return Value::Bool(count == 1);
  }

  Env& env_;
  const EvalLimits& limits_;
  uint64_t cost_ = 0;
  uint32_t depth_ = 0;
  std::vector<std::pair<std::string, Value>> locals_;
};

}  // namespace

EvalResult Evaluate(const Expr& expr, Env& env, const EvalLimits& limits) {
  try {
    Evaluator ev(env, limits);
    return ev.Eval(expr);
  } catch (const std::bad_alloc&) {
    return EvalError{"expr.error", "out of memory while evaluating", expr.span};
  }
}

}  // namespace aos
