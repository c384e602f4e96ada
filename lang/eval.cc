#include "lang/eval.h"

#include "lang/cron.h"
#include "lang/regex.h"

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

const std::vector<std::string_view>& BuiltinFunctionNames() {
  static const std::vector<std::string_view> names = {
      "size", "contains", "startsWith", "endsWith", "matches", "int", "uint", "double",
      "string", "bool", "bytes", "type", "timestamp", "duration", "lower", "upper", "trim",
      "split", "join", "replace", "format", "format_time", "json_encode", "json_decode", "default",
      "coalesce", "sum", "min", "max", "sort", "keys", "values", "now", "uuid", "env",
      "secret", "bearer", "basic", "has", "all", "exists", "exists_one", "map", "filter"};
  return names;
}

bool IsBuiltinFunction(std::string_view name) {
  const auto& n = BuiltinFunctionNames();
  return std::find(n.begin(), n.end(), name) != n.end();
}

namespace {

constexpr int64_t kNanosPerUnit = 1'000'000'000;

bool IsNum(ValueKind k) {
  return k == ValueKind::kInt || k == ValueKind::kUint || k == ValueKind::kDouble;
}

double AsDouble(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kInt: return static_cast<double>(v.as_int());
    case ValueKind::kUint: return static_cast<double>(v.as_uint());
    default: return v.as_double();
  }
}

// -1, 0, 1; precondition: comparable.
int CompareNumbers(const Value& a, const Value& b) {
  const ValueKind ka = a.kind(), kb = b.kind();
  if (ka == ValueKind::kInt && kb == ValueKind::kInt) {
    return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int();
  }
  if (ka == ValueKind::kUint && kb == ValueKind::kUint) {
    return a.as_uint() < b.as_uint() ? -1 : a.as_uint() > b.as_uint();
  }
  if (ka == ValueKind::kInt && kb == ValueKind::kUint) {
    if (a.as_int() < 0) return -1;
    const uint64_t x = static_cast<uint64_t>(a.as_int());
    return x < b.as_uint() ? -1 : x > b.as_uint();
  }
  if (ka == ValueKind::kUint && kb == ValueKind::kInt) return -CompareNumbers(b, a);
  const double x = AsDouble(a), y = AsDouble(b);
  return x < y ? -1 : x > y;
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}


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
        return e.literal;
      case ExprKind::kIdent:
        return Ident(e);
      case ExprKind::kMember: {
        EvalResult obj = Eval(*e.args[0]);
        if (!obj.ok()) return obj;
        return Member(e, obj.value(), e.name);
      }
      case ExprKind::kIndex: {
        EvalResult obj = Eval(*e.args[0]);
        if (!obj.ok()) return obj;
        EvalResult idx = Eval(*e.args[1]);
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
        EvalResult c = Eval(*e.args[0]);
        if (!c.ok()) return c;
        if (c.value().kind() != ValueKind::kBool) {
          return Err(*e.args[0], std::string("a condition must be bool, not ") +
                                     KindName(c.value().kind()));
        }
        return Eval(*e.args[c.value().as_bool() ? 1 : 2]);
      }
      case ExprKind::kList: {
        ValueList items;
        items.reserve(e.args.size());
        for (const auto& a : e.args) {
          EvalResult r = Eval(*a);
          if (!r.ok()) return r;
          items.push_back(std::move(r.value()));
        }
        if (!ChargeSize(items.size() * 8)) return Err(e, "evaluation cost limit exceeded");
        return Value::List(std::move(items));
      }
      case ExprKind::kMap: {
        ValueMap entries;
        for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
          EvalResult k = Eval(*e.args[i]);
          if (!k.ok()) return k;
          const ValueKind kk = k.value().kind();
          if (kk != ValueKind::kString && kk != ValueKind::kInt && kk != ValueKind::kUint &&
              kk != ValueKind::kBool) {
            return Err(*e.args[i], std::string("map keys must be string, int, uint or bool, not ") +
                                       KindName(kk));
          }
          for (const auto& [ek, ev] : entries) {
            if (ek == k.value()) {
              return Err(*e.args[i], "duplicate map key " + k.value().ToJson());
            }
          }
          EvalResult v = Eval(*e.args[i + 1]);
          if (!v.ok()) return v;
          entries.emplace_back(std::move(k.value()), std::move(v.value()));
        }
        if (!ChargeSize(entries.size() * 8)) return Err(e, "evaluation cost limit exceeded");
        return Value::Map(std::move(entries));
      }
      case ExprKind::kInterp: {
        std::string out;
        for (const auto& a : e.args) {
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
      if (it->first == e.name) return it->second;
    }
    Value v;
    switch (env_.Find(e.name, &v)) {
      case Env::Lookup::kFound:
        return v;
      case Env::Lookup::kSkipped:
        return MakeErr(e, "'" + e.name + "' was skipped", "expr.skipped");
      case Env::Lookup::kUnknown:
        return MakeErr(e, "'" + e.name + "' has no value yet", "expr.unknown");
      case Env::Lookup::kUnbound:
        break;
    }
    static const char* types[] = {"int",  "uint",      "double",   "string", "bool",
                                  "bytes", "list",     "map",      "null_type", "type",
                                  "timestamp", "duration", "money"};
    for (const char* t : types) {
      if (e.name == t) return Value::Type(e.name);
    }
    return Err(e, "unknown name '" + e.name + "'");
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
    EvalResult r = Eval(*e.args[0]);
    if (!r.ok()) return r;
    const Value& v = r.value();
    if (e.name == "!") {
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
    std::string msg = std::string("no such overload: ") + KindName(a.kind()) + " " + e.name + " " +
                      KindName(b.kind());
    return Err(e, msg);
  }

  EvalResult Binary(const Expr& e) {
    const std::string& op = e.name;
    if (op == "&&" || op == "||") return Logical(e);
    EvalResult ra = Eval(*e.args[0]);
    if (!ra.ok()) return ra;
    EvalResult rb = Eval(*e.args[1]);
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
        if ((ka == ValueKind::kDouble && std::isnan(a.as_double())) ||
            (kb == ValueKind::kDouble && std::isnan(b.as_double()))) {
          return Value::Bool(false);
        }
        c = CompareNumbers(a, b);
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
    const bool is_and = e.name == "&&";
    EvalResult ra = Eval(*e.args[0]);
    // CEL: false && x is false and true || x is true, whatever x is (errors
    // included), in either order.
    auto decides = [&](const EvalResult& r) {
      return r.ok() && r.value().kind() == ValueKind::kBool && r.value().as_bool() != is_and;
    };
    if (decides(ra)) return Value::Bool(!is_and);
    EvalResult rb = Eval(*e.args[1]);
    if (decides(rb)) return Value::Bool(!is_and);
    if (!ra.ok()) return ra;
    if (!rb.ok()) return rb;
    if (ra.value().kind() != ValueKind::kBool || rb.value().kind() != ValueKind::kBool) {
      return Overload(e, ra.value(), rb.value());
    }
    return Value::Bool(is_and);  // both true for &&, both false for ||
  }

  EvalResult Arithmetic(const Expr& e, const Value& a, const Value& b) {
    const std::string& op = e.name;
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
      if (overflow) return Err(e, "integer overflow in int " + op + " int");
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
      if (overflow) return Err(e, "integer overflow in uint " + op + " uint");
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
        return Err(e, "cannot mix currencies: " + a.as_money().currency + " " + op + " " +
                          b.as_money().currency);
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
    const std::string& n = e.name;
    if (e.has_receiver && (n == "all" || n == "exists" || n == "exists_one" || n == "map" ||
                           n == "filter")) {
      return Macro(e);
    }
    if (!e.has_receiver && n == "has") return Has(e);
    if (!e.has_receiver && (n == "default" || n == "coalesce")) return Default(e);
    std::vector<Value> args;
    args.reserve(e.args.size());
    for (const auto& a : e.args) {
      EvalResult r = Eval(*a);
      if (!r.ok()) return r;
      args.push_back(std::move(r.value()));
    }
    return Function(e, n, args);
  }

  EvalResult Has(const Expr& e) {
    if (e.args.size() != 1 || e.args[0]->kind != ExprKind::kMember) {
      return Err(e, "has() takes one field selection, as in has(a.b)");
    }
    EvalResult obj = Eval(*e.args[0]->args[0]);
    if (!obj.ok()) return obj;
    if (obj.value().kind() != ValueKind::kMap) {
      return Err(e, std::string("has() needs a map, not ") + KindName(obj.value().kind()));
    }
    return Value::Bool(obj.value().Find(e.args[0]->name) != nullptr);
  }

  EvalResult Default(const Expr& e) {
    if (e.args.size() < 2) return Err(e, e.name + "() takes at least two arguments");
    const bool is_default = e.name == "default";
    if (is_default && e.args.size() != 2) return Err(e, "default() takes two arguments");
    for (size_t i = 0; i < e.args.size(); ++i) {
      const bool last = i + 1 == e.args.size();
      EvalResult r = Eval(*e.args[i]);
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
    const std::string& n = e.name;
    if (e.args.size() < 3 || e.args[1]->kind != ExprKind::kIdent ||
        (e.args.size() > 3 && n != "map") || e.args.size() > 4) {
      return Err(e, n + "() takes a variable name and an expression, as in l." + n + "(x, x > 0)");
    }
    EvalResult coll = Eval(*e.args[0]);
    if (!coll.ok()) return coll;
    ValueList items;
    if (coll.value().kind() == ValueKind::kList) {
      items = coll.value().as_list();
    } else if (coll.value().kind() == ValueKind::kMap) {
      for (const auto& [k, v] : coll.value().as_map()) items.push_back(k);
    } else {
      return Err(*e.args[0], n + "() needs a list or a map, not " + KindName(coll.value().kind()));
    }
    const std::string& var = e.args[1]->name;
    ValueList out;
    int count = 0;
    bool any_error = false;
    EvalError first_error;
    for (const Value& item : items) {
      locals_.emplace_back(var, item);
      EvalResult r = Eval(*e.args[2]);
      if (r.ok() && n == "map" && e.args.size() == 4) {
        // map(x, filter, transform)
        if (r.value().kind() != ValueKind::kBool) {
          locals_.pop_back();
          return Err(*e.args[2], "the filter of map() must be bool");
        }
        if (!r.value().as_bool()) {
          locals_.pop_back();
          continue;
        }
        r = Eval(*e.args[3]);
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
        return Err(*e.args[2], "the predicate of " + n + "() must be bool, not " +
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

  EvalResult WrongArgs(const Expr& e, const std::string& name, const std::vector<Value>& args) {
    std::string sig = name + "(";
    for (size_t i = 0; i < args.size(); ++i) sig += std::string(i ? ", " : "") + KindName(args[i].kind());
    return Err(e, "no such overload: " + sig + ")");
  }

  EvalResult Function(const Expr& e, const std::string& n, const std::vector<Value>& args) {
    auto kinds = [&](std::initializer_list<ValueKind> ks) {
      if (args.size() != ks.size()) return false;
      size_t i = 0;
      for (ValueKind k : ks) {
        if (args[i++].kind() != k) return false;
      }
      return true;
    };
    using K = ValueKind;
    if (n == "size") {
      if (args.size() != 1) return WrongArgs(e, n, args);
      switch (args[0].kind()) {
        case K::kString: return Value::Int(static_cast<int64_t>(Utf8Length(args[0].as_string())));
        case K::kBytes: return Value::Int(static_cast<int64_t>(args[0].as_bytes().size()));
        case K::kList: return Value::Int(static_cast<int64_t>(args[0].as_list().size()));
        case K::kMap: return Value::Int(static_cast<int64_t>(args[0].as_map().size()));
        default: return WrongArgs(e, n, args);
      }
    }
    if (n == "contains" || n == "startsWith" || n == "endsWith") {
      if (!kinds({K::kString, K::kString})) {
        if (n == "contains" && args.size() == 2 && args[0].kind() == K::kList) {
          for (const auto& x : args[0].as_list()) {
            if (x == args[1]) return Value::Bool(true);
          }
          return Value::Bool(false);
        }
        return WrongArgs(e, n, args);
      }
      const std::string& s = args[0].as_string();
      const std::string& t = args[1].as_string();
      if (n == "contains") return Value::Bool(s.find(t) != std::string::npos);
      if (n == "startsWith") return Value::Bool(s.rfind(t, 0) == 0);
      return Value::Bool(s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0);
    }
    if (n == "matches") {
      if (!kinds({K::kString, K::kString})) return WrongArgs(e, n, args);
      if (args[0].as_string().size() > kMaxRegexText) return Err(e, "matches(): the text is longer than 64 KiB");
      // RE2 is linear in the text: charge for the text, not text x pattern.
      if (!ChargeSize(args[0].as_string().size() + args[1].as_string().size())) {
        return Err(e, "evaluation cost limit exceeded");
      }
      std::string why;
      auto re = Regex::Compile(args[1].as_string(), &why);
      if (!re) return Err(e, "matches(): " + why);
      return Value::Bool(re->Search(args[0].as_string()));
    }
    if (n == "int") {
      if (args.size() != 1) return WrongArgs(e, n, args);
      const Value& v = args[0];
      switch (v.kind()) {
        case K::kInt: return v;
        case K::kUint:
          if (v.as_uint() > static_cast<uint64_t>(INT64_MAX)) return Err(e, "int(): out of range");
          return Value::Int(static_cast<int64_t>(v.as_uint()));
        case K::kDouble: {
          const double d = v.as_double();
          if (!(d > -9.223372036854775808e18 && d < 9.223372036854775807e18)) {
            return Err(e, "int(): out of range");
          }
          return Value::Int(static_cast<int64_t>(d));
        }
        case K::kString: {
          int64_t i;
          const std::string& s = v.as_string();
          auto r = std::from_chars(s.data(), s.data() + s.size(), i);
          if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty()) {
            return Err(e, "int(): '" + s + "' is not an int");
          }
          return Value::Int(i);
        }
        case K::kTimestamp: return Value::Int(v.as_time().nanos / kNanosPerUnit);
        case K::kBool: return Value::Int(v.as_bool() ? 1 : 0);
        default: return WrongArgs(e, n, args);
      }
    }
    if (n == "uint") {
      if (args.size() != 1) return WrongArgs(e, n, args);
      const Value& v = args[0];
      switch (v.kind()) {
        case K::kUint: return v;
        case K::kInt:
          if (v.as_int() < 0) return Err(e, "uint(): out of range");
          return Value::Uint(static_cast<uint64_t>(v.as_int()));
        case K::kDouble: {
          const double d = v.as_double();
          if (!(d > -1.0 && d < 1.8446744073709552e19)) return Err(e, "uint(): out of range");
          return Value::Uint(static_cast<uint64_t>(d));
        }
        case K::kString: {
          uint64_t u;
          const std::string& s = v.as_string();
          auto r = std::from_chars(s.data(), s.data() + s.size(), u);
          if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty()) {
            return Err(e, "uint(): '" + s + "' is not a uint");
          }
          return Value::Uint(u);
        }
        default: return WrongArgs(e, n, args);
      }
    }
    if (n == "double") {
      if (args.size() != 1) return WrongArgs(e, n, args);
      const Value& v = args[0];
      switch (v.kind()) {
        case K::kDouble: return v;
        case K::kInt: return Value::Double(static_cast<double>(v.as_int()));
        case K::kUint: return Value::Double(static_cast<double>(v.as_uint()));
        case K::kString: {
          const std::string& s = v.as_string();
          char* end = nullptr;
          const double d = std::strtod(s.c_str(), &end);
          if (s.empty() || end != s.c_str() + s.size()) return Err(e, "double(): '" + s + "' is not a double");
          return Value::Double(d);
        }
        case K::kMoney: return Value::Double(static_cast<double>(v.as_money().nanos) / 1e9);
        default: return WrongArgs(e, n, args);
      }
    }
    if (n == "string") {
      if (args.size() != 1) return WrongArgs(e, n, args);
      return Value::String(args[0].ToDisplayString());
    }
    if (n == "bool") {
      if (args.size() != 1) return WrongArgs(e, n, args);
      if (args[0].kind() == K::kBool) return args[0];
      if (args[0].kind() == K::kString) {
        const std::string& s = args[0].as_string();
        if (s == "true" || s == "True" || s == "TRUE" || s == "1" || s == "t") return Value::Bool(true);
        if (s == "false" || s == "False" || s == "FALSE" || s == "0" || s == "f") return Value::Bool(false);
        return Err(e, "bool(): '" + s + "' is not a bool");
      }
      return WrongArgs(e, n, args);
    }
    if (n == "bytes") {
      if (kinds({K::kString})) return Value::BytesOf(args[0].as_string());
      if (kinds({K::kBytes})) return args[0];
      return WrongArgs(e, n, args);
    }
    if (n == "type") {
      if (args.size() != 1) return WrongArgs(e, n, args);
      return Value::Type(KindName(args[0].kind()));
    }
    if (n == "timestamp") {
      if (kinds({K::kTimestamp})) return args[0];
      if (kinds({K::kInt})) {
        int64_t r;
        if (__builtin_mul_overflow(args[0].as_int(), kNanosPerUnit, &r)) return Err(e, "timestamp(): out of range");
        return Value::Time(Timestamp{r});
      }
      if (!kinds({K::kString})) return WrongArgs(e, n, args);
      std::string why;
      if (auto t = ParseTimestampText(args[0].as_string(), &why)) return Value::Time(*t);
      return Err(e, "timestamp(): '" + args[0].as_string() + "' is " + why);
    }
    if (n == "duration") {
      if (kinds({K::kDuration})) return args[0];
      if (!kinds({K::kString})) return WrongArgs(e, n, args);
      if (auto d = ParseDurationText(args[0].as_string())) return Value::Dur(*d);
      return Err(e, "duration(): '" + args[0].as_string() + "' is not a duration");
    }
    if (n == "format_time") {
      // format_time(t, fmt, tz): strftime-style text of t in the IANA zone tz
      // (%G-W%V is the ISO week), as a trigger names its run's inputs.
      if (!kinds({K::kTimestamp, K::kString, K::kString}) && !kinds({K::kTimestamp, K::kString})) {
        return WrongArgs(e, n, args);
      }
      std::string text;
      std::string error;
      if (!FormatTime(args[0].as_time(), args[1].as_string(), args.size() > 2 ? args[2].as_string() : "UTC", &text,
                      &error)) {
        return Err(e, "format_time(): " + error);
      }
      return Value::String(std::move(text));
    }
    if (n == "lower" || n == "upper" || n == "trim") {
      if (!kinds({K::kString})) return WrongArgs(e, n, args);
      if (n == "lower") return Value::String(Lower(args[0].as_string()));
      if (n == "upper") return Value::String(Upper(args[0].as_string()));
      return Value::String(Trim(args[0].as_string()));
    }
    if (n == "split") {
      if (!kinds({K::kString, K::kString})) return WrongArgs(e, n, args);
      const std::string& s = args[0].as_string();
      const std::string& sep = args[1].as_string();
      ValueList parts;
      if (sep.empty()) {
        for (char c : s) parts.push_back(Value::String(std::string(1, c)));
      } else {
        size_t start = 0;
        for (size_t p; (p = s.find(sep, start)) != std::string::npos; start = p + sep.size()) {
          parts.push_back(Value::String(s.substr(start, p - start)));
        }
        parts.push_back(Value::String(s.substr(start)));
      }
      if (!ChargeSize(s.size() + parts.size() * 8)) return Err(e, "evaluation cost limit exceeded");
      return Value::List(std::move(parts));
    }
    if (n == "join") {
      if (args.empty() || args.size() > 2 || args[0].kind() != K::kList ||
          (args.size() == 2 && args[1].kind() != K::kString)) {
        return WrongArgs(e, n, args);
      }
      const std::string sep = args.size() == 2 ? args[1].as_string() : "";
      std::string out;
      bool first = true;
      for (const auto& x : args[0].as_list()) {
        if (!first) out += sep;
        first = false;
        out += x.ToDisplayString();
        if (!ChargeSize(out.size() / 16)) return Err(e, "evaluation cost limit exceeded");
      }
      return Value::String(std::move(out));
    }
    if (n == "replace") {
      if (!kinds({K::kString, K::kString, K::kString})) return WrongArgs(e, n, args);
      const std::string& s = args[0].as_string();
      const std::string& from = args[1].as_string();
      const std::string& to = args[2].as_string();
      if (from.empty()) return Value::String(s);
      std::string out;
      size_t start = 0;
      for (size_t p; (p = s.find(from, start)) != std::string::npos; start = p + from.size()) {
        out += s.substr(start, p - start) + to;
        if (!ChargeSize(out.size() / 16)) return Err(e, "evaluation cost limit exceeded");
      }
      out += s.substr(start);
      return Value::String(std::move(out));
    }
    if (n == "format") {
      if (args.empty() || args[0].kind() != K::kString) return WrongArgs(e, n, args);
      ValueList fill;
      if (args.size() == 2 && args[1].kind() == K::kList) {
        fill = args[1].as_list();
      } else {
        fill.assign(args.begin() + 1, args.end());
      }
      const std::string& f = args[0].as_string();
      std::string out;
      size_t next = 0;
      for (size_t i = 0; i < f.size(); ++i) {
        if (f[i] != '%') {
          out += f[i];
          continue;
        }
        if (i + 1 >= f.size()) return Err(e, "format(): the format ends with '%'");
        const char c = f[++i];
        if (c == '%') {
          out += '%';
          continue;
        }
        if (next >= fill.size()) return Err(e, "format(): too few arguments for the format");
        const Value& v = fill[next++];
        if (c == 's') {
          out += v.ToDisplayString();
        } else if (c == 'd') {
          if (v.kind() != K::kInt && v.kind() != K::kUint) return Err(e, "format(): %d needs an int");
          out += v.ToJson();
        } else if (c == 'f') {
          if (!IsNum(v.kind())) return Err(e, "format(): %f needs a number");
          char buf[64];
          std::snprintf(buf, sizeof buf, "%.6f", AsDouble(v));
          out += buf;
        } else {
          return Err(e, std::string("format(): unknown verb %") + c);
        }
      }
      return Value::String(std::move(out));
    }
    if (n == "json_encode") {
      if (args.size() != 1) return WrongArgs(e, n, args);
      std::string s = args[0].ToJson();
      if (!ChargeSize(s.size())) return Err(e, "evaluation cost limit exceeded");
      return Value::String(std::move(s));
    }
    if (n == "json_decode") {
      if (!kinds({K::kString})) return WrongArgs(e, n, args);
      if (!ChargeSize(args[0].as_string().size())) return Err(e, "evaluation cost limit exceeded");
      std::string error;
      if (auto v = ParseJson(args[0].as_string(), &error)) return *v;
      return Err(e, "json_decode(): not valid JSON");
    }
    if (n == "sum" || n == "min" || n == "max" || n == "sort") {
      ValueList items;
      if (args.size() == 1 && args[0].kind() == K::kList) {
        items = args[0].as_list();
      } else if (n != "sum" && n != "sort" && args.size() >= 2) {
        items = args;
      } else {
        return WrongArgs(e, n, args);
      }
      return Aggregate(e, n, items);
    }
    if (n == "keys" || n == "values") {
      if (!kinds({K::kMap})) return WrongArgs(e, n, args);
      ValueList out;
      for (const auto& [k, v] : args[0].as_map()) out.push_back(n == "keys" ? k : v);
      return Value::List(std::move(out));
    }
    if (n == "now" || n == "uuid") {
      if (!args.empty()) return WrongArgs(e, n, args);
      if (auto v = env_.Nondeterministic(n, e.span)) return *v;
      return MakeErr(e, n + "() has no value here", "expr.unknown");
    }
    if (n == "env" || n == "secret") {
      if (!kinds({K::kString})) return WrongArgs(e, n, args);
      auto v = n == "env" ? env_.EnvVar(args[0].as_string()) : env_.Secret(args[0].as_string());
      if (v) return *v;
      return MakeErr(e, n + "(\"" + args[0].as_string() + "\") has no value here", "expr.unknown");
    }
    if (n == "bearer") {
      if (!kinds({K::kString})) return WrongArgs(e, n, args);
      return Value::String("Bearer " + args[0].as_string());
    }
    if (n == "basic") {
      if (!kinds({K::kString, K::kString})) return WrongArgs(e, n, args);
      return Value::String("Basic " + Base64Encode(args[0].as_string() + ":" + args[1].as_string()));
    }
    return Err(e, "unknown function '" + n + "'");
  }

  EvalResult Aggregate(const Expr& e, const std::string& n, ValueList items) {
    if (!ChargeSize(items.size() * 8)) return Err(e, "evaluation cost limit exceeded");
    if (n == "sort") {
      for (size_t i = 1; i < items.size(); ++i) {
        const bool ok = (IsNum(items[i].kind()) && IsNum(items[0].kind())) ||
                        items[i].kind() == items[0].kind();
        if (!ok) return Err(e, "sort(): the list mixes kinds");
      }
      if (!items.empty() && !IsNum(items[0].kind()) && items[0].kind() != ValueKind::kString &&
          items[0].kind() != ValueKind::kTimestamp && items[0].kind() != ValueKind::kDuration &&
          items[0].kind() != ValueKind::kBool) {
        return Err(e, std::string("sort(): cannot order ") + KindName(items[0].kind()));
      }
      std::stable_sort(items.begin(), items.end(), [](const Value& a, const Value& b) {
        return Less(a, b);
      });
      return Value::List(std::move(items));
    }
    if (n == "sum") {
      if (items.empty()) return Value::Int(0);
      Value acc = items[0];
      for (size_t i = 1; i < items.size(); ++i) {
        Expr plus;
        plus.kind = ExprKind::kBinary;
        plus.name = "+";
        plus.span = e.span;
        if (acc.kind() != items[i].kind()) {
          return Err(e, std::string("sum(): the list mixes ") + KindName(acc.kind()) + " and " +
                            KindName(items[i].kind()));
        }
        EvalResult r = Arithmetic(plus, acc, items[i]);
        if (!r.ok()) return Err(e, "sum(): " + r.error().message);
        acc = std::move(r.value());
      }
      if (!IsNum(acc.kind()) && acc.kind() != ValueKind::kDuration && acc.kind() != ValueKind::kMoney) {
        return Err(e, std::string("sum(): cannot add ") + KindName(acc.kind()));
      }
      return acc;
    }
    if (items.empty()) return Err(e, n + "() of an empty list");
    size_t best = 0;
    for (size_t i = 1; i < items.size(); ++i) {
      const bool ok = (IsNum(items[i].kind()) && IsNum(items[0].kind())) ||
                      items[i].kind() == items[0].kind();
      if (!ok) return Err(e, n + "(): the values mix kinds");
      if (n == "min" ? Less(items[i], items[best]) : Less(items[best], items[i])) best = i;
    }
    return items[best];
  }

  static bool Less(const Value& a, const Value& b) {
    if (IsNum(a.kind()) && IsNum(b.kind())) return CompareNumbers(a, b) < 0;
    switch (a.kind()) {
      case ValueKind::kString: return a.as_string() < b.as_string();
      case ValueKind::kTimestamp: return a.as_time().nanos < b.as_time().nanos;
      case ValueKind::kDuration: return a.as_duration().nanos < b.as_duration().nanos;
      case ValueKind::kBool: return a.as_bool() < b.as_bool();
      case ValueKind::kMoney: return a.as_money().nanos < b.as_money().nanos;
      default: return false;
    }
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
