// The PEGTL rules of the .aos language (v0.1), and nothing else.
//
// Rules that become nodes of the flat syntax tree are listed in `node_kind.h`;
// messages for the commit points (`must<>`) live in `errors.h`; the control
// that builds the tree and the error-recovery rules live in `tree.h`. The one
// `parse` call site is `lang/parser.cc`. Rule names here are the names used in
// `docs/language.md`.
//
// Whitespace, newlines and comments are insignificant: statements begin with a
// keyword, so expressions end where the next keyword begins. `_` is the
// separator (any run of spaces and comments).
#ifndef AOS_GRAMMAR_GRAMMAR_H_
#define AOS_GRAMMAR_GRAMMAR_H_

#include <string_view>

#include <tao/pegtl.hpp>
#include <tao/pegtl/contrib/analyze_traits.hpp>

#include "grammar/tree.h"

namespace aos::grammar {

namespace pegtl = tao::pegtl;
using pegtl::alnum;
using pegtl::alpha;
using pegtl::any;
using pegtl::at;
using pegtl::digit;
using pegtl::eof;
using pegtl::eolf;
using pegtl::if_must;
using pegtl::list;
using pegtl::must;
using pegtl::not_at;
using pegtl::not_one;
using pegtl::one;
using pegtl::opt;
using pegtl::plus;
using pegtl::range;
using pegtl::seq;
using pegtl::sor;
using pegtl::space;
using pegtl::star;
using pegtl::string;
using pegtl::two;
using pegtl::until;
using pegtl::xdigit;

// ---------------------------------------------------------------- lexical
struct line_comment : seq<sor<two<'/'>, one<'#'>>, until<eolf>> {};
struct block_comment_end : string<'*', '/'> {};
struct block_comment_rest : until<block_comment_end, any> {};
struct block_comment : if_must<string<'/', '*'>, block_comment_rest> {};
struct sp : sor<plus<space>, line_comment, block_comment> {};
struct _ : star<sp> {};

struct id_other : pegtl::identifier_other {};
struct word : pegtl::identifier {};  // any identifier, keywords included

// Reserved words: they start declarations and statements, or are literals.
// Other keywords (retry, key, timeout, ...) are contextual and stay usable as
// names.
struct kw_aos : TAO_PEGTL_KEYWORD("aos") {};
struct kw_import : TAO_PEGTL_KEYWORD("import") {};
struct kw_type : TAO_PEGTL_KEYWORD("type") {};
struct kw_entity : TAO_PEGTL_KEYWORD("entity") {};
struct kw_connector : TAO_PEGTL_KEYWORD("connector") {};
struct kw_agent : TAO_PEGTL_KEYWORD("agent") {};
struct kw_workflow : TAO_PEGTL_KEYWORD("workflow") {};
struct kw_trigger : TAO_PEGTL_KEYWORD("trigger") {};
struct kw_step : TAO_PEGTL_KEYWORD("step") {};
struct kw_effect : TAO_PEGTL_KEYWORD("effect") {};
struct kw_approval : TAO_PEGTL_KEYWORD("approval") {};
struct kw_wait : TAO_PEGTL_KEYWORD("wait") {};
struct kw_signal : TAO_PEGTL_KEYWORD("signal") {};
struct kw_let : TAO_PEGTL_KEYWORD("let") {};
struct kw_for : TAO_PEGTL_KEYWORD("for") {};
struct kw_output : TAO_PEGTL_KEYWORD("output") {};
struct kw_fail : TAO_PEGTL_KEYWORD("fail") {};
struct kw_when : TAO_PEGTL_KEYWORD("when") {};
struct kw_after : TAO_PEGTL_KEYWORD("after") {};
struct kw_in : TAO_PEGTL_KEYWORD("in") {};
struct kw_true : TAO_PEGTL_KEYWORD("true") {};
struct kw_false : TAO_PEGTL_KEYWORD("false") {};
struct kw_null : TAO_PEGTL_KEYWORD("null") {};

// Contextual keywords.
struct kw_key : TAO_PEGTL_KEYWORD("key") {};
struct kw_index : TAO_PEGTL_KEYWORD("index") {};  // contextual: entity bodies
struct kw_identity : TAO_PEGTL_KEYWORD("identity") {};  // contextual: entity bodies
struct kw_transform : TAO_PEGTL_KEYWORD("transform") {};  // contextual: top level
struct kw_migration : TAO_PEGTL_KEYWORD("migration") {};  // contextual: top level
struct kw_drop : TAO_PEGTL_KEYWORD("drop") {};            // contextual: migration bodies
struct kw_per : TAO_PEGTL_KEYWORD("per") {};              // contextual: after a budget
struct kw_ref : TAO_PEGTL_KEYWORD("ref") {};      // contextual: before '<' in a type
struct kw_budget : TAO_PEGTL_KEYWORD("budget") {};
struct kw_concurrency : TAO_PEGTL_KEYWORD("concurrency") {};
struct kw_retry : TAO_PEGTL_KEYWORD("retry") {};
struct kw_on : TAO_PEGTL_KEYWORD("on") {};
struct kw_failure : TAO_PEGTL_KEYWORD("failure") {};
struct kw_compensate : TAO_PEGTL_KEYWORD("compensate") {};
struct kw_escalate : TAO_PEGTL_KEYWORD("escalate") {};
struct kw_backoff : TAO_PEGTL_KEYWORD("backoff") {};
struct kw_x : TAO_PEGTL_KEYWORD("x") {};
struct kw_max : TAO_PEGTL_KEYWORD("max") {};
struct kw_jitter : TAO_PEGTL_KEYWORD("jitter") {};
struct kw_timeout : TAO_PEGTL_KEYWORD("timeout") {};
struct kw_cache : TAO_PEGTL_KEYWORD("cache") {};
struct kw_confirm : TAO_PEGTL_KEYWORD("confirm") {};
struct kw_describe : TAO_PEGTL_KEYWORD("describe") {};
struct kw_ask : TAO_PEGTL_KEYWORD("ask") {};
struct kw_show : TAO_PEGTL_KEYWORD("show") {};
struct kw_explain : TAO_PEGTL_KEYWORD("explain") {};
struct kw_on_timeout : TAO_PEGTL_KEYWORD("on_timeout") {};
struct kw_returns : TAO_PEGTL_KEYWORD("returns") {};
struct kw_approvers : TAO_PEGTL_KEYWORD("approvers") {};
struct kw_until : TAO_PEGTL_KEYWORD("until") {};
struct kw_list : TAO_PEGTL_KEYWORD("list") {};
struct kw_map : TAO_PEGTL_KEYWORD("map") {};
struct kw_schedule : TAO_PEGTL_KEYWORD("schedule") {};
struct kw_every : TAO_PEGTL_KEYWORD("every") {};
struct kw_timezone : TAO_PEGTL_KEYWORD("timezone") {};
struct kw_missed : TAO_PEGTL_KEYWORD("missed") {};
struct kw_webhook : TAO_PEGTL_KEYWORD("webhook") {};
struct kw_body : TAO_PEGTL_KEYWORD("body") {};
struct kw_auth : TAO_PEGTL_KEYWORD("auth") {};
struct kw_start : TAO_PEGTL_KEYWORD("start") {};
struct kw_to : TAO_PEGTL_KEYWORD("to") {};
struct kw_with : TAO_PEGTL_KEYWORD("with") {};

// The reserved words: import type entity connector agent workflow trigger
// step effect approval wait signal let for output fail when after in true
// false null. A hand-written rule (one identifier scan and a switch) rather
// than a sor<> of 22 keywords, because every name in a file is checked
// against it.
constexpr bool IsReservedWord(std::string_view w) {
  switch (w.size()) {
    case 2: return w == "in";
    case 3: return w == "let" || w == "for";
    case 4: return w == "type" || w == "step" || w == "wait" || w == "fail" || w == "when" ||
                   w == "true" || w == "null";
    case 5: return w == "agent" || w == "after" || w == "false";
    case 6: return w == "import" || w == "entity" || w == "effect" || w == "signal" || w == "output";
    case 7: return w == "trigger";
    case 8: return w == "approval" || w == "workflow";
    case 9: return w == "connector";
    default: return false;
  }
}

struct reserved {
  using rule_t = reserved;
  using subs_t = pegtl::empty_list;
  template <typename ParseInput>
  static bool match(ParseInput& in) {
    const char* p = in.current();
    const char* e = in.end();
    size_t n = 0;
    while (p + n < e) {
      const char c = p[n];
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) break;
      ++n;
    }
    if (n == 0 || !IsReservedWord(std::string_view(p, n))) return false;
    in.bump(n);
    return true;
  }
};

struct name : seq<not_at<reserved>, pegtl::identifier> {};

// Words that begin a top-level declaration / a statement or setting: error
// recovery resynchronises at a line beginning with one of these.
struct decl_keyword : sor<kw_import, kw_type, kw_entity, kw_connector,
                          kw_agent, kw_workflow, kw_trigger, kw_transform, kw_migration> {};
struct stmt_keyword
    : sor<kw_step, kw_effect, kw_approval, kw_wait, kw_signal, kw_let, kw_for,
          kw_output, kw_fail, kw_budget, kw_concurrency, kw_on> {};

struct comma : seq<_, one<','>, _> {};
struct colon : one<':'> {};

// ---------------------------------------------------------------- literals
struct digits : plus<digit> {};
struct exponent_digits : digits {};
struct exponent : seq<one<'e', 'E'>, opt<one<'+', '-'>>, must<exponent_digits>> {};
struct duration_unit
    : sor<string<'m', 's'>, string<'u', 's'>, string<'n', 's'>, one<'s'>,
          one<'m'>, one<'h'>, one<'d'>> {};
struct duration_lit
    : seq<plus<seq<digits, duration_unit>>, not_at<id_other>> {};
struct currency : sor<TAO_PEGTL_KEYWORD("usd"), TAO_PEGTL_KEYWORD("eur"),
                      TAO_PEGTL_KEYWORD("gbp")> {};
struct decimal : seq<digits, opt<one<'.'>, digits>> {};
struct money_lit : seq<decimal, _, currency> {};
struct hex_lit : seq<one<'0'>, one<'x', 'X'>, plus<xdigit>> {};
// 1.5, 1e3, 2.5e-3 and, as CEL allows, .99
struct double_lit : seq<sor<seq<digits, sor<seq<one<'.'>, digits, opt<exponent>>, exponent>>,
                            seq<one<'.'>, digits, opt<exponent>>>,
                        not_at<id_other>> {};
struct uint_lit : seq<sor<hex_lit, digits>, one<'u', 'U'>, not_at<id_other>> {};
struct int_lit : seq<sor<hex_lit, digits>, not_at<id_other>> {};
struct number : sor<duration_lit, money_lit, double_lit, uint_lit, int_lit> {};

struct true_lit : kw_true {};
struct false_lit : kw_false {};
struct null_lit : kw_null {};

// Strings. "..." and """...""" interpolate ${expr}; '...' and r"..." do not.
struct expr;
// CEL's escapes (\a \b \f \n \r \t \v \\ \" \' \` \?, \xHH, \uHHHH,
// \UHHHHHHHH, octal \ooo), and ours: \$ (a literal ${), \0.
struct escape_char : sor<seq<range<'0', '3'>, range<'0', '7'>, range<'0', '7'>>,
                         one<'n', 'r', 't', '\\', '"', '\'', '$', '0', 'a', 'b', 'f', 'v', '`', '?'>,
                         seq<one<'u'>, xdigit, xdigit, xdigit, xdigit>,
                         seq<one<'U'>, xdigit, xdigit, xdigit, xdigit, xdigit, xdigit, xdigit, xdigit>,
                         seq<one<'x', 'X'>, xdigit, xdigit>> {};
struct escape_seq : seq<one<'\\'>, must<escape_char>> {};
struct interp_close : one<'}'> {};
struct expr_expected;
struct interp : if_must<string<'$', '{'>, _, expr_expected, _, interp_close> {};
struct dq_chars : plus<not_at<string<'$', '{'>>, not_one<'"', '\\', '\n', '\r'>> {};
struct dq_close : one<'"'> {};
struct dq_string
    : opened<open_kind::string,
             if_must<one<'"'>, star<sor<dq_chars, escape_seq, interp>>, dq_close>> {};
struct tq_delim : string<'"', '"', '"'> {};
struct tq_chars : plus<not_at<string<'$', '{'>>, not_at<tq_delim>, not_one<'\\'>> {};
struct tq_close : tq_delim {};
struct tq_string
    : opened<open_kind::string,
             if_must<tq_delim, star<sor<tq_chars, escape_seq, interp>>, tq_close>> {};
struct tsq_delim : string<'\'', '\'', '\''> {};
struct tsq_chars : plus<not_at<tsq_delim>, not_one<'\\'>> {};
struct tsq_close : tsq_delim {};
// '''...''': several lines, escapes, no interpolation (like '...').
struct tsq_string
    : opened<open_kind::string, if_must<tsq_delim, star<sor<tsq_chars, escape_seq>>, tsq_close>> {};
struct sq_chars : plus<not_one<'\'', '\\', '\n', '\r'>> {};
struct sq_close : one<'\''> {};
struct sq_string
    : opened<open_kind::string,
             if_must<one<'\''>, star<sor<sq_chars, escape_seq>>, sq_close>> {};
// Raw strings take no escapes and no interpolation: r"...", r'...' (one
// line), r"""...""", r'''...''' (several).
struct raw_chars : star<not_one<'"', '\n', '\r'>> {};
struct raw_close : one<'"'> {};
struct raw_sq_chars : star<not_one<'\'', '\n', '\r'>> {};
struct raw_sq_close : one<'\''> {};
struct raw_tdq_chars : star<not_at<tq_delim>, any> {};
struct raw_tdq_close : tq_delim {};
struct raw_tsq_chars : star<not_at<tsq_delim>, any> {};
struct raw_tsq_close : tsq_delim {};
struct raw_prefix : one<'r', 'R'> {};
struct raw_string
    : opened<open_kind::string,
             sor<if_must<seq<raw_prefix, tq_delim>, raw_tdq_chars, raw_tdq_close>,
                 if_must<seq<raw_prefix, tsq_delim>, raw_tsq_chars, raw_tsq_close>,
                 if_must<seq<raw_prefix, one<'"'>>, raw_chars, raw_close>,
                 if_must<seq<raw_prefix, one<'\''>>, raw_sq_chars, raw_sq_close>>> {};
struct string_lit : sor<tq_string, dq_string, tsq_string, sq_string, raw_string> {};

// ---------------------------------------------------------------- types
struct type_expr;
struct type_name : name {};
struct type_close_angle : one<'>'> {};
struct type_expected;
struct list_type : if_must<seq<kw_list, _, one<'<'>>, _, type_expected, _, type_close_angle> {};
struct map_type_comma : one<','> {};
struct map_type : if_must<seq<kw_map, _, one<'<'>>, _, type_expected, _, map_type_comma, _,
                          type_expected, _, type_close_angle> {};
// ref<T>: the key of a record of entity T (checked when written).
struct ref_type : if_must<seq<kw_ref, _, one<'<'>>, _, type_expected, _, type_close_angle> {};
struct optional_mark : one<'?'> {};
struct type_expr : seq<sor<list_type, map_type, ref_type, type_name>, opt<_, optional_mark>> {};
struct type_expected : type_expr {};

// ---------------------------------------------------------------- expressions
// The parse tree of an expression is flat per precedence-free sequence:
// `expr` holds operands (`unary`) and operator tokens (`binop`, `cond_q`,
// `cond_colon`); lang/parser.cc builds the tree by precedence climbing. The
// layered rules below only validate the shape.
struct expr_expected : seq<expr> {};
struct close_paren : one<')'> {};
struct close_bracket : one<']'> {};
struct close_brace_map : one<'}'> {};
struct arg_name : word {};
// Alternatives that can fail after a node was made are user rules, so the
// control truncates that node when they fail (internal combinators do not
// report failure to the control).
struct named_arg : seq<arg_name, _, colon> {};
struct arg : seq<opt<named_arg, _>, expr> {};
struct call_args
    : if_must<one<'('>, _, opt<list<arg, comma>>, opt<comma>, _, close_paren> {};
struct list_lit
    : if_must<one<'['>, _, opt<list<expr, comma>>, opt<comma>, _, close_bracket> {};
struct map_key_word : word {};
// A bare word before ':' is a field name ({k: v}), but true and false stay
// the literals ({true: 5}[true] is 5).
struct map_key_bare : seq<not_at<sor<kw_true, kw_false>>, map_key_word, at<_, colon>> {};
struct map_key : sor<map_key_bare, expr> {};
struct map_colon : colon {};
struct map_entry : seq<map_key, _, must<map_colon>, _, expr_expected> {};
struct map_lit : if_must<one<'{'>, _, opt<list<map_entry, comma>>, opt<comma>, _,
                         close_brace_map> {};
struct paren_expr : if_must<one<'('>, _, expr_expected, _, close_paren> {};
struct ident : name {};
// `type(x)` is a CEL function although `type` is a reserved word.
// `type` in an expression: the type of types, or with arguments type(x).
struct type_fn : kw_type {};
struct primary : sor<number, string_lit, true_lit, false_lit, null_lit, list_lit,
                     map_lit, paren_expr, type_fn, ident> {};
struct member_name : word {};
struct member_suffix : seq<one<'.'>, _, must<member_name>> {};
struct index_suffix : if_must<one<'['>, _, expr_expected, _, close_bracket> {};
struct call_suffix : call_args {};
struct postfix : sor<member_suffix, index_suffix, call_suffix> {};
struct prefix_op : sor<one<'!'>, seq<one<'-'>, not_at<one<'>'>>>> {};
struct operand_expected : primary {};
struct unary;
// A prefix operator nests: `!!!!x` is bounded like parentheses are.
struct prefixed : seq<prefix_op, _, nest<unary>> {};
struct unary : sor<prefixed, seq<primary, star<_, postfix>>> {};
struct binop
    : sor<two<'|'>, two<'&'>, string<'=', '='>, string<'!', '='>, string<'<', '='>,
          string<'>', '='>, one<'<'>, one<'>'>, kw_in, one<'+'>,
          seq<one<'-'>, not_at<one<'>'>>>, one<'*'>, one<'/'>, one<'%'>> {};
struct operand_after_op : unary {};
struct binary : seq<unary, star<_, binop, _, must<operand_after_op>>> {};
struct cond_q : one<'?'> {};
struct cond_colon : one<':'> {};
struct cond_then : seq<expr> {};
struct cond_else : seq<expr> {};
struct conditional
    : seq<binary, opt<_, cond_q, _, must<cond_then>, _, must<cond_colon>, _,
                      must<cond_else>>> {};
struct expr : nest<conditional> {};

// ---------------------------------------------------------------- declarations
struct version_number : seq<digits, star<one<'.'>, digits>> {};
struct version_decl : if_must<kw_aos, _, version_number> {};

struct import_path : string_lit {};
struct import_decl : if_must<kw_import, _, import_path> {};

struct decl_name : name {};
struct field_name : word {};
struct field_colon : colon {};
struct field_default : if_must<one<'='>, _, expr_expected> {};
struct field : seq<field_name, _, must<field_colon>, _, must<type_expected>,
                   opt<_, field_default>> {};
struct key_field_body : field {};
struct key_field : if_must<seq<kw_key, _, not_at<colon>>, key_field_body> {};
// `identity F: T`: an alternate unique key; records sharing a value are one.
struct identity_field_body : field {};
struct identity_field : if_must<seq<kw_identity, _, not_at<colon>>, identity_field_body> {};
// `index F` in an entity: E.find(F: value) looks records up by F.
struct index_field : word {};
struct index_decl : if_must<seq<kw_index, _, not_at<colon>>, index_field> {};
struct open_brace : one<'{'> {};
struct close_type : one<'}'> {};
struct type_decl
    : opened<open_kind::decl,
             if_must<kw_type, _, decl_name, _, open_brace, _, star<sor<key_field, field>, _>,
                     close_type>> {};
struct close_entity : one<'}'> {};
struct entity_decl
    : opened<open_kind::decl,
             if_must<kw_entity, _, decl_name, _, open_brace, _,
                     star<sor<key_field, identity_field, index_decl, field>, _>, close_entity>> {};

// `key: expr` settings of connectors and agents; the checker knows the keys.
struct setting_key : word {};
struct setting_colon : colon {};
struct setting : seq<setting_key, _, must<setting_colon>, _, expr_expected> {};
struct output_setting : if_must<seq<kw_output, _, colon>, _, type_expected> {};
struct connector_kind : name {};
struct connector_eq : one<'='> {};
struct close_connector : one<'}'> {};
struct connector_decl
    : opened<open_kind::decl,
             if_must<kw_connector, _, decl_name, _, connector_eq, _, connector_kind, _,
                     open_brace, _, star<setting, _>, close_connector>> {};
struct close_agent : one<'}'> {};
struct agent_decl
    : opened<open_kind::decl,
             if_must<kw_agent, _, decl_name, _, open_brace, _,
                     star<sor<output_setting, setting>, _>, close_agent>> {};

// ---------------------------------------------------------------- workflow
struct int_expected : int_lit {};
struct number_expected : sor<double_lit, int_lit> {};
struct error_kind : seq<word, star<one<'.'>, plus<id_other>>> {};
struct kinds_close : one<']'> {};
struct error_kinds : list<error_kind, comma> {};
struct retry_on : if_must<seq<kw_on, _, one<'['>>, _, error_kinds, _, kinds_close> {};
struct retry_count : int_lit {};
struct backoff_base : duration_lit {};
struct backoff_factor : number_expected {};
struct backoff_max : duration_lit {};
struct backoff_jitter : kw_jitter {};
struct backoff
    : if_must<kw_backoff, _, backoff_base, opt<_, if_must<kw_x, _, backoff_factor>>,
              opt<_, if_must<kw_max, _, backoff_max>>, opt<_, backoff_jitter>> {};
struct retry_spec : seq<must<retry_count>, opt<_, backoff>, opt<_, retry_on>> {};

struct call_name : seq<name, star<_, one<'.'>, _, word>> {};
struct call : seq<call_name, _, must<call_args>> {};
struct call_expected : call {};

struct mod_retry : if_must<kw_retry, _, retry_spec> {};
struct mod_timeout : if_must<kw_timeout, _, expr_expected> {};
struct cache_ttl : duration_lit {};
struct mod_cache : seq<kw_cache, opt<_, cache_ttl>> {};
struct mod_key : if_must<kw_key, _, expr_expected> {};
struct mod_compensate : if_must<kw_compensate, _, call_expected> {};
struct mod_confirm : kw_confirm {};
struct escalate_after : kw_after {};
struct mod_escalate : if_must<kw_escalate, _, must<escalate_after>, _, int_expected> {};
struct mod_describe : if_must<kw_describe, _, expr_expected> {};
struct modifier : sor<mod_retry, mod_timeout, mod_cache, mod_key, mod_compensate,
                      mod_confirm, mod_escalate, mod_describe> {};
struct close_modifiers : one<'}'> {};
struct modifiers : if_must<one<'{'>, _, star<modifier, _>, close_modifiers> {};

struct stmt_name : name {};
struct when_clause : if_must<kw_when, _, expr_expected> {};
struct after_name : name {};
struct after_names : list<after_name, comma> {};
struct after_clause : if_must<kw_after, _, after_names> {};
struct stmt_tail : star<_, sor<when_clause, after_clause>> {};
struct assign : one<'='> {};

struct step_stmt : opened<open_kind::stmt, if_must<kw_step, _, stmt_name, _, assign, _, call_expected,
                           opt<_, modifiers>, stmt_tail>> {};
struct effect_stmt : opened<open_kind::stmt, if_must<kw_effect, _, stmt_name, _, assign, _, call_expected,
                             opt<_, modifiers>, stmt_tail>> {};

struct on_timeout_action : word {};
struct approval_ask : if_must<kw_ask, _, expr_expected> {};
struct approval_show : if_must<kw_show, _, expr_expected> {};
// `explain EXPR`: why the decision is asked for (often a model's rationale).
struct approval_explain : if_must<kw_explain, _, expr_expected> {};
struct approval_timeout
    : if_must<kw_timeout, _, expr_expected,
              opt<_, if_must<kw_on_timeout, _, on_timeout_action>>> {};
struct approval_returns : if_must<kw_returns, _, type_expected> {};
struct approval_approvers : if_must<kw_approvers, _, expr_expected> {};
struct approval_item : sor<approval_ask, approval_show, approval_explain, approval_timeout,
                           approval_returns, approval_approvers> {};
struct close_approval : one<'}'> {};
struct approval_stmt
    : opened<open_kind::stmt, if_must<kw_approval, _, stmt_name, _, open_brace, _, star<approval_item, _>,
              close_approval, stmt_tail>> {};

struct wait_for : if_must<kw_for, _, expr_expected> {};
struct wait_until : if_must<kw_until, _, expr_expected> {};
struct wait_how : sor<wait_for, wait_until> {};
struct wait_stmt : if_must<kw_wait, _, stmt_name, _, wait_how, stmt_tail> {};

struct signal_event : string_lit {};
struct signal_timeout
    : if_must<kw_timeout, _, expr_expected, opt<_, if_must<kw_on_timeout, _, on_timeout_action>>> {};
struct close_signal : one<'}'> {};
struct signal_block : if_must<one<'{'>, _, opt<signal_timeout, _>, close_signal> {};
struct signal_stmt
    : opened<open_kind::stmt, if_must<kw_signal, _, stmt_name, _, opt<signal_event, _>, opt<signal_block>,
              stmt_tail>> {};

struct let_stmt : if_must<kw_let, _, stmt_name, _, assign, _, expr_expected, stmt_tail> {};
struct output_stmt : if_must<kw_output, _, expr_expected, stmt_tail> {};
struct fail_stmt : if_must<kw_fail, _, expr_expected, stmt_tail> {};

struct stmt;
struct loop_var : name {};
struct for_in : kw_in {};
struct for_max : if_must<kw_max, _, int_expected> {};
struct close_for : one<'}'> {};
struct for_body;
struct for_stmt : opened<open_kind::stmt, if_must<kw_for, _, loop_var, _, must<for_in>, _, expr_expected,
                          opt<_, for_max>, _, open_brace, _, for_body, close_for,
                          stmt_tail>> {};

struct stmt : sor<step_stmt, effect_stmt, approval_stmt, wait_stmt, signal_stmt,
                  let_stmt, for_stmt, output_stmt, fail_stmt> {};
struct block_end : sor<one<'}'>, eof, decl_keyword> {};
struct for_item : stmt {};
struct for_body
    : nest<star<not_at<block_end>, recover<must<for_item>, stmt_keyword, decl_keyword>, _>> {};

// `budget 30.00 usd per month`: counted over every run of the period.
struct budget_period : word {};
struct budget_per : seq<kw_per, _, must<budget_period>> {};
struct set_budget : if_must<kw_budget, _, expr_expected, opt<_, budget_per>> {};
struct set_concurrency : if_must<kw_concurrency, _, int_expected> {};
struct set_retry : if_must<kw_retry, _, retry_spec> {};
struct failure_policy : word {};
struct set_on_failure : if_must<kw_on, _, must<kw_failure>, _, failure_policy> {};
struct setting_stmt : sor<set_budget, set_concurrency, set_retry, set_on_failure> {};

struct param : seq<field_name, _, must<field_colon>, _, must<type_expected>,
                   opt<_, field_default>> {};
struct params_close : one<')'> {};
struct params : if_must<one<'('>, _, opt<list<param, comma>>, _, params_close> {};
struct return_type : if_must<string<'-', '>'>, _, type_expected> {};
struct close_workflow : one<'}'> {};
struct workflow_item : sor<setting_stmt, stmt> {};
struct workflow_decl
    : opened<open_kind::decl,
             if_must<kw_workflow, _, decl_name, _, params, _, opt<return_type, _>,
                     open_brace, _,
                     star<not_at<block_end>,
                          recover<must<workflow_item>, stmt_keyword, decl_keyword>, _>,
                     close_workflow>> {};

// ---------------------------------------------------------------- triggers
// What starts a workflow, or signals a run, without anyone typing a command
// (serve.md §1). The checker knows which items fit together.
struct trg_schedule : if_must<kw_schedule, _, expr_expected> {};
struct trg_every : if_must<kw_every, _, expr_expected> {};
struct trg_timezone : if_must<kw_timezone, _, expr_expected> {};
struct trg_missed_policy : word {};
struct trg_missed : if_must<kw_missed, _, trg_missed_policy> {};
struct trg_webhook : if_must<kw_webhook, _, expr_expected> {};
struct trg_auth : if_must<kw_auth, _, expr_expected> {};
struct trg_key : if_must<kw_key, _, expr_expected> {};
struct trg_body : if_must<kw_body, _, opt<one<':'>, _>, type_expected> {};
struct trg_start : if_must<kw_start, _, call_expected> {};
struct trg_signal_to : if_must<kw_to, _, expr_expected> {};
struct trg_signal_with : if_must<kw_with, _, expr_expected> {};
struct trg_signal : if_must<kw_signal, _, expr_expected, _, must<trg_signal_to>, opt<_, trg_signal_with>> {};
struct trigger_item : sor<trg_schedule, trg_every, trg_timezone, trg_missed, trg_webhook, trg_auth, trg_key,
                          trg_body, trg_start, trg_signal> {};
struct close_trigger : one<'}'> {};
struct trigger_decl
    : opened<open_kind::decl,
             if_must<kw_trigger, _, decl_name, _, open_brace, _, star<trigger_item, _>, close_trigger>> {};

// `transform NAME vN (x: T) -> E { field: expr ... }`: a pure, typed
// function from a payload to a record (state.md §2).
struct version_tag : seq<one<'v'>, digits, not_at<pegtl::identifier_other>> {};
struct transform_version : version_tag {};
struct transform_result : return_type {};
struct body_field_name : word {};
struct body_field : seq<not_at<kw_drop, _, not_at<colon>>, body_field_name, _, must<field_colon>, _, expr_expected> {};
struct close_transform : one<'}'> {};
struct transform_decl
    : opened<open_kind::decl,
             if_must<seq<kw_transform, _, at<name>>, decl_name, _, transform_version, _, params, _,
                     transform_result, _, open_brace, _, star<body_field, _>, close_transform>> {};
// `migration E vN -> vM { field: expr ... drop f, g }`: rewrites stored
// records of E (`it`: the record as stored) to the new declaration.
struct migration_from : version_tag {};
struct migration_arrow : string<'-', '>'> {};
struct migration_to : version_tag {};
struct drop_field : word {};
struct migration_drop : if_must<seq<kw_drop, _, not_at<colon>>, list<drop_field, comma>> {};
struct close_migration : one<'}'> {};
struct migration_decl
    : opened<open_kind::decl,
             if_must<seq<kw_migration, _, at<name>>, decl_name, _, migration_from, _, migration_arrow, _,
                     migration_to, _, open_brace, _, star<sor<migration_drop, body_field>, _>,
                     close_migration>> {};
struct declaration : sor<import_decl, type_decl, entity_decl, connector_decl,
                         agent_decl, workflow_decl, trigger_decl, transform_decl, migration_decl> {};
struct declaration_expected : declaration {};
struct expr_end : eof {};
struct expression_only : seq<_, expr_expected, _, must<expr_end>> {};
struct file : seq<_, opt<version_decl, _>,
                  star<not_at<eof>, recover<must<declaration_expected>, decl_keyword>, _>,
                  eof> {};

// ---------------------------------------------------------------- tree nodes
// Which rules become nodes of the flat tree (an alias such as expr_expected
// makes the same kind of node as the rule it stands for).
#define AOS_SELECT(rule, k) \
  template <>               \
  inline constexpr NodeKind kind_of<rule> = NodeKind::k;
AOS_SELECT(version_decl, version_decl)
AOS_SELECT(version_number, version_number)
AOS_SELECT(import_decl, import_decl)
AOS_SELECT(type_decl, type_decl)
AOS_SELECT(entity_decl, entity_decl)
AOS_SELECT(connector_decl, connector_decl)
AOS_SELECT(trigger_decl, trigger_decl)
AOS_SELECT(trg_schedule, trg_schedule)
AOS_SELECT(trg_every, trg_every)
AOS_SELECT(trg_timezone, trg_timezone)
AOS_SELECT(trg_missed, trg_missed)
AOS_SELECT(trg_missed_policy, trg_missed_policy)
AOS_SELECT(trg_webhook, trg_webhook)
AOS_SELECT(trg_auth, trg_auth)
AOS_SELECT(trg_key, trg_key)
AOS_SELECT(trg_body, trg_body)
AOS_SELECT(trg_start, trg_start)
AOS_SELECT(trg_signal, trg_signal)
AOS_SELECT(trg_signal_to, trg_signal_to)
AOS_SELECT(trg_signal_with, trg_signal_with)
AOS_SELECT(agent_decl, agent_decl)
AOS_SELECT(workflow_decl, workflow_decl)
AOS_SELECT(decl_name, decl_name)
AOS_SELECT(field, field)
AOS_SELECT(key_field_body, field)
AOS_SELECT(key_field, key_field)
AOS_SELECT(identity_field_body, field)
AOS_SELECT(identity_field, identity_field)
AOS_SELECT(transform_decl, transform_decl)
AOS_SELECT(transform_version, transform_version)
AOS_SELECT(transform_result, transform_result)
AOS_SELECT(body_field, body_field)
AOS_SELECT(body_field_name, body_field_name)
AOS_SELECT(migration_decl, migration_decl)
AOS_SELECT(migration_from, migration_from)
AOS_SELECT(migration_to, migration_to)
AOS_SELECT(migration_drop, migration_drop)
AOS_SELECT(drop_field, drop_field)
AOS_SELECT(index_decl, index_decl)
AOS_SELECT(index_field, index_field)
AOS_SELECT(param, param)
AOS_SELECT(field_name, field_name)
AOS_SELECT(field_default, field_default)
AOS_SELECT(type_expr, type_expr)
AOS_SELECT(type_expected, type_expr)
AOS_SELECT(type_name, type_name)
AOS_SELECT(list_type, list_type)
AOS_SELECT(map_type, map_type)
AOS_SELECT(ref_type, ref_type)
AOS_SELECT(optional_mark, optional_mark)
AOS_SELECT(setting, setting)
AOS_SELECT(setting_key, setting_key)
AOS_SELECT(output_setting, output_setting)
AOS_SELECT(connector_kind, connector_kind)
AOS_SELECT(return_type, return_type)
AOS_SELECT(expr, expr)
AOS_SELECT(binop, binop)
AOS_SELECT(cond_q, cond_q)
AOS_SELECT(unary, unary)
AOS_SELECT(operand_after_op, unary)
AOS_SELECT(prefix_op, prefix_op)
AOS_SELECT(ident, ident)
AOS_SELECT(type_fn, type_fn)
AOS_SELECT(member_name, member_suffix)
AOS_SELECT(index_suffix, index_suffix)
AOS_SELECT(call_suffix, call_suffix)
AOS_SELECT(arg, arg)
AOS_SELECT(arg_name, arg_name)
AOS_SELECT(list_lit, list_lit)
AOS_SELECT(map_lit, map_lit)
AOS_SELECT(map_entry, map_entry)
AOS_SELECT(map_key_word, map_key_word)
AOS_SELECT(paren_expr, paren_expr)
AOS_SELECT(int_lit, int_lit)
AOS_SELECT(int_expected, int_lit)
AOS_SELECT(retry_count, retry_count)
AOS_SELECT(uint_lit, uint_lit)
AOS_SELECT(double_lit, double_lit)
AOS_SELECT(duration_lit, duration_lit)
AOS_SELECT(money_lit, money_lit)
AOS_SELECT(true_lit, true_lit)
AOS_SELECT(false_lit, false_lit)
AOS_SELECT(null_lit, null_lit)
AOS_SELECT(dq_string, dq_string)
AOS_SELECT(tq_string, dq_string)
AOS_SELECT(sq_string, sq_string)
AOS_SELECT(tsq_string, sq_string)
AOS_SELECT(raw_string, sq_string)
AOS_SELECT(raw_chars, raw_chars)
AOS_SELECT(raw_sq_chars, raw_chars)
AOS_SELECT(raw_tdq_chars, raw_chars)
AOS_SELECT(raw_tsq_chars, raw_chars)
AOS_SELECT(dq_chars, str_chars)
AOS_SELECT(tq_chars, str_chars)
AOS_SELECT(sq_chars, str_chars)
AOS_SELECT(tsq_chars, str_chars)
AOS_SELECT(escape_seq, escape_seq)
AOS_SELECT(interp, interp)
AOS_SELECT(set_budget, set_budget)
AOS_SELECT(set_concurrency, set_concurrency)
AOS_SELECT(set_retry, set_retry)
AOS_SELECT(set_on_failure, set_on_failure)
AOS_SELECT(failure_policy, failure_policy)
AOS_SELECT(retry_spec, retry_spec)
AOS_SELECT(backoff_base, backoff_base)
AOS_SELECT(backoff_factor, backoff_factor)
AOS_SELECT(backoff_max, backoff_max)
AOS_SELECT(backoff_jitter, backoff_jitter)
AOS_SELECT(error_kind, error_kind)
AOS_SELECT(call, call)
AOS_SELECT(call_expected, call)
AOS_SELECT(call_name, call_name)
AOS_SELECT(mod_retry, mod_retry)
AOS_SELECT(mod_timeout, mod_timeout)
AOS_SELECT(mod_cache, mod_cache)
AOS_SELECT(cache_ttl, cache_ttl)
AOS_SELECT(mod_key, mod_key)
AOS_SELECT(mod_compensate, mod_compensate)
AOS_SELECT(mod_confirm, mod_confirm)
AOS_SELECT(mod_escalate, mod_escalate)
AOS_SELECT(mod_describe, mod_describe)
AOS_SELECT(stmt_name, stmt_name)
AOS_SELECT(when_clause, when_clause)
AOS_SELECT(after_name, after_name)
AOS_SELECT(step_stmt, step_stmt)
AOS_SELECT(effect_stmt, effect_stmt)
AOS_SELECT(approval_stmt, approval_stmt)
AOS_SELECT(approval_ask, approval_ask)
AOS_SELECT(approval_show, approval_show)
AOS_SELECT(approval_explain, approval_explain)
AOS_SELECT(budget_period, budget_period)
AOS_SELECT(approval_timeout, approval_timeout)
AOS_SELECT(on_timeout_action, on_timeout_action)
AOS_SELECT(approval_returns, approval_returns)
AOS_SELECT(approval_approvers, approval_approvers)
AOS_SELECT(wait_stmt, wait_stmt)
AOS_SELECT(wait_for, wait_for)
AOS_SELECT(wait_until, wait_until)
AOS_SELECT(signal_stmt, signal_stmt)
AOS_SELECT(signal_event, signal_event)
AOS_SELECT(signal_timeout, signal_timeout)
AOS_SELECT(let_stmt, let_stmt)
AOS_SELECT(output_stmt, output_stmt)
AOS_SELECT(fail_stmt, fail_stmt)
AOS_SELECT(for_stmt, for_stmt)
AOS_SELECT(loop_var, loop_var)
AOS_SELECT(for_max, for_max)
#undef AOS_SELECT

// A workflow's statements are converted as they are parsed (see
// ParseState::on_item): a 100,000-statement body never sits in the tree whole.
template <>
inline constexpr bool streamed<workflow_item> = true;

}  // namespace aos::grammar

// reserved consumes input when it succeeds, like any keyword.
template <typename Name>
struct tao::pegtl::analyze_traits<Name, aos::grammar::reserved> : tao::pegtl::analyze_any_traits<> {};

#include "grammar/errors.h"

#endif  // AOS_GRAMMAR_GRAMMAR_H_
