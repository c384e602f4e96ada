// The PEGTL control that builds the flat syntax tree (node_kind.h), and the
// three custom rules the grammar uses: `opened<>` (remember where a construct
// began, for close-bracket messages), `nest<>` (bound the nesting depth) and
// `recover<>` (record a syntax error and resynchronise, so one run reports
// several independent errors).
//
// Why not pegtl::parse_tree: it allocates a node for every rule attempt and
// copies the source name into each node; this control appends 16-byte records
// to one vector and truncates it on backtracking.
#ifndef AOS_GRAMMAR_TREE_H_
#define AOS_GRAMMAR_TREE_H_

#include <tao/pegtl.hpp>
#include <tao/pegtl/contrib/analyze_traits.hpp>

#include "grammar/node_kind.h"

namespace aos::grammar {

// The deepest nesting of expressions and `for` bodies the parser accepts.
inline constexpr uint32_t kMaxNesting = 64;

template <typename Rule>
inline constexpr NodeKind kind_of = NodeKind::none;

// Rules whose nodes are handed to ParseState::on_item when they succeed.
template <typename Rule>
inline constexpr bool streamed = false;

inline uint32_t Offset(const char* p, const ParseState& s) {
  return static_cast<uint32_t>(p - s.src.data());
}

// opened<K, R>: matches R, with (K, start) on the opener stack meanwhile. The
// stack is not popped when an exception passes through, so the catcher
// (recover<>) can still see what was open when the error was raised.
template <open_kind K, typename Rule>
struct opened {
  using rule_t = opened;
  using subs_t = tao::pegtl::type_list<Rule>;
  template <tao::pegtl::apply_mode A, tao::pegtl::rewind_mode M,
            template <typename...> class Action,
            template <typename...> class Control, typename ParseInput>
  static bool match(ParseInput& in, ParseState& s) {
    s.openers.push_back(Opener{K, Offset(in.current(), s)});
    const bool ok =
        Control<Rule>::template match<A, M, Action, Control>(in, s);
    s.openers.pop_back();
    return ok;
  }
};

// nest<R>: matches R one level deeper; past kMaxNesting it is a syntax error.
struct too_deep {};
template <typename Rule>
struct nest {
  using rule_t = nest;
  using subs_t = tao::pegtl::type_list<Rule>;
  template <tao::pegtl::apply_mode A, tao::pegtl::rewind_mode M,
            template <typename...> class Action,
            template <typename...> class Control, typename ParseInput>
  static bool match(ParseInput& in, ParseState& s) {
    if (s.depth >= kMaxNesting) {
      Control<too_deep>::raise(in, s);
    }
    ++s.depth;
    struct Guard {
      ParseState& s;
      ~Guard() { --s.depth; }
    } guard{s};
    return Control<Rule>::template match<A, M, Action, Control>(in, s);
  }
};

// recover<R, Weak, Strong>: matches R; if R raises a syntax error, records it
// and skips ahead so parsing continues and one run reports several errors.
// It stops at the first line (from the error on) that begins with Strong, or
// with Weak while the braces opened since R began are closed again, or just
// before a '}' that closes the enclosing block. Fails without consuming when
// no progress is possible.
template <typename Rule, typename Weak, typename Strong = Weak>
struct recover {
  using rule_t = recover;
  using subs_t = tao::pegtl::type_list<Rule>;

  template <tao::pegtl::apply_mode A, tao::pegtl::rewind_mode M,
            template <typename...> class Action,
            template <typename...> class Control, typename ParseInput>
  static bool match(ParseInput& in, ParseState& s) {
    const char* start = in.current();
    const size_t openers = s.openers.size();
    const size_t marks = s.marks.size();
    const size_t nodes = s.nodes.size();
    const uint32_t depth = s.depth;
    try {
      return Control<Rule>::template match<A, tao::pegtl::rewind_mode::required,
                                           Action, Control>(in, s);
    } catch (const tao::pegtl::parse_error& e) {
      const auto& pos = e.positions().front();
      SyntaxError err{static_cast<uint32_t>(pos.byte), std::string(e.message()),
                      s.pending_code ? s.pending_code : "E001",
                      s.pending_hint, false, Opener{}};
      if (s.pending_closes && s.openers.size() > openers) {
        err.has_opener = true;
        err.opener = s.openers.back();
      }
      s.errors.push_back(std::move(err));
      s.pending_code = nullptr;
      s.pending_hint = nullptr;
      s.pending_closes = false;
      s.openers.resize(openers);
      s.marks.resize(marks);
      s.nodes.resize(nodes);
      s.depth = depth;
      const char* stop = Resync(start, s.src.data() + pos.byte, s);
      if (stop <= in.current()) return false;
      in.bump(static_cast<size_t>(stop - in.current()));
      return true;
    }
  }

 private:
  static const char* Resync(const char* start, const char* at, const ParseState& s) {
    const char* end = s.src.data() + s.src.size();
    int balance = 0;
    bool line_start = false;
    for (const char* p = start; p < end; ++p) {
      if (p >= at && (line_start || p == at) && p > start) {
        const char* q = p;
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\r')) ++q;
        if (Begins<Strong>(q, end) || (balance <= 0 && Begins<Weak>(q, end))) {
          if (p != at || IsLineStart(p, s)) return q;
        }
      }
      line_start = false;
      const char c = *p;
      if (c == '\n') {
        line_start = true;
      } else if (c == '"' || c == '\'') {
        for (++p; p < end && *p != c && *p != '\n'; ++p) {
          if (*p == '\\' && p + 1 < end) ++p;
        }
        if (p < end && *p == '\n') line_start = true;
      } else if (c == '#' || (c == '/' && p + 1 < end && p[1] == '/')) {
        while (p < end && *p != '\n') ++p;
        line_start = true;
      } else if (c == '{') {
        ++balance;
      } else if (c == '}') {
        if (--balance < 0 && p >= at) return p;
      }
    }
    return end;
  }

  static bool IsLineStart(const char* p, const ParseState& s) {
    while (p > s.src.data() && (p[-1] == ' ' || p[-1] == '\t')) --p;
    return p == s.src.data() || p[-1] == '\n';
  }

  template <typename Sync>
  static bool Begins(const char* p, const char* end) {
    tao::pegtl::memory_input<tao::pegtl::tracking_mode::lazy> probe(p, end, "");
    return tao::pegtl::parse<Sync>(probe);
  }
};

// The per-rule messages: error_info<Rule> in errors.h.
template <typename Rule>
struct error_info {
  static constexpr const char* message = nullptr;
  static constexpr const char* code = "E001";
  static constexpr const char* hint = nullptr;
  static constexpr bool closes = false;
};

struct error_table {
  template <typename Rule>
  static constexpr const char* message = error_info<Rule>::message;
};

// Whether matching Rule can append nodes: it is selected, or one of its
// sub-rules can (looked at Depth levels deep; deeper is assumed yes). Rules
// that cannot skip all bookkeeping, which matters for whitespace and tokens.
template <unsigned Depth, typename Rules>
struct holds_nodes;
template <unsigned Depth, typename... Rules>
struct holds_nodes<Depth, tao::pegtl::type_list<Rules...>> {
  static constexpr bool value =
      ((kind_of<Rules> != NodeKind::none ||
        holds_nodes<Depth - 1, typename Rules::subs_t>::value) ||
       ...);
};
template <typename... Rules>
struct holds_nodes<0, tao::pegtl::type_list<Rules...>> {
  static constexpr bool value = sizeof...(Rules) > 0;
};
template <typename Rule>
inline constexpr bool holds_nodes_v =
    kind_of<Rule> != NodeKind::none ||
    holds_nodes<12, typename Rule::subs_t>::value;

// The control: must_if<> raises the table's message at commit points; on top
// of it, selected rules append a FlatNode and every rule truncates the node
// array when it fails, so backtracking leaves no stray nodes.
template <typename Rule>
struct tree_control
    : tao::pegtl::must_if<error_table, tao::pegtl::normal, false>::control<Rule> {
  using base =
      typename tao::pegtl::must_if<error_table, tao::pegtl::normal, false>::template control<Rule>;
  static constexpr NodeKind kind = kind_of<Rule>;
  static constexpr bool tracked = holds_nodes_v<Rule>;

  template <typename ParseInput>
  static void start(const ParseInput& in, ParseState& s) {
    if constexpr (tracked) {
      s.marks.push_back(static_cast<uint32_t>(s.nodes.size()));
    }
    if constexpr (kind != NodeKind::none) {
      const uint32_t at = Offset(in.current(), s);
      if constexpr (kind == NodeKind::workflow_decl) {
        s.workflow = static_cast<uint32_t>(s.nodes.size());
      }
      s.nodes.push_back(FlatNode{kind, at, at, 1});
    }
  }

  template <typename ParseInput>
  static void success(const ParseInput& in, ParseState& s) {
    if constexpr (tracked) {
      const uint32_t mark = s.marks.back();
      s.marks.pop_back();
      if constexpr (kind != NodeKind::none) {
        FlatNode& n = s.nodes[mark];
        n.end = Offset(in.current(), s);
        n.size = static_cast<uint32_t>(s.nodes.size() - mark);
      }
      if constexpr (streamed<Rule>) {
        if (s.on_item) {
          s.on_item(s, s.workflow, mark, s.user);
          s.nodes.resize(mark);
        }
      }
    }
  }

  template <typename ParseInput>
  static void failure(const ParseInput& in, ParseState& s) {
    if constexpr (tracked) {
      s.nodes.resize(s.marks.back());
      s.marks.pop_back();
    }
    if constexpr (error_info<Rule>::message != nullptr) {
      Remember(s);
    }
    base::failure(in, s);
  }

  template <typename ParseInput>
  static void unwind(const ParseInput&, ParseState& s) {
    if constexpr (tracked) {
      s.nodes.resize(s.marks.back());
      s.marks.pop_back();
    }
  }

  template <typename ParseInput>
  [[noreturn]] static void raise(const ParseInput& in, ParseState& s) {
    Remember(s);
    if constexpr (error_info<Rule>::message != nullptr) {
      throw tao::pegtl::parse_error(error_info<Rule>::message, in);
    } else {
      throw tao::pegtl::parse_error("unexpected input here", in);
    }
  }

 private:
  static void Remember(ParseState& s) {
    s.pending_code = error_info<Rule>::code;
    s.pending_hint = error_info<Rule>::hint;
    s.pending_closes = error_info<Rule>::closes;
  }
};

}  // namespace aos::grammar

namespace tao::pegtl {
template <typename Name, aos::grammar::open_kind K, typename Rule>
struct analyze_traits<Name, aos::grammar::opened<K, Rule>>
    : analyze_seq_traits<Rule> {};
template <typename Name, typename Rule>
struct analyze_traits<Name, aos::grammar::nest<Rule>> : analyze_seq_traits<Rule> {};
template <typename Name, typename Rule, typename Weak, typename Strong>
struct analyze_traits<Name, aos::grammar::recover<Rule, Weak, Strong>>
    : analyze_seq_traits<Rule> {};
}  // namespace tao::pegtl

#endif  // AOS_GRAMMAR_TREE_H_
