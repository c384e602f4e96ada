// The syntax-error table: for each commit point of the grammar, the message,
// the stable diagnostic code, an optional hint, and whether the error is a
// missing close (then the parser names where the construct was opened).
// Included at the end of grammar.h; docs/diagnostics.md lists the codes.
#ifndef AOS_GRAMMAR_ERRORS_H_
#define AOS_GRAMMAR_ERRORS_H_

namespace aos::grammar {

#define AOS_ERROR(rule, c, msg, h, cl)                 \
  template <>                                          \
  struct error_info<rule> {                            \
    static constexpr const char* message = msg;        \
    static constexpr const char* code = c;             \
    static constexpr const char* hint = h;             \
    static constexpr bool closes = cl;                 \
  };

// E001: a token or construct was expected here.
AOS_ERROR(exponent_digits, "E001", "expected digits in the exponent", nullptr, false)
AOS_ERROR(escape_char, "E001", "unknown escape sequence",
          "use \\n, \\r, \\t, \\\\, \\\", \\', \\$, \\xHH or \\uHHHH", false)
AOS_ERROR(interp_close, "E001", "expected '}' to end the interpolation '${...}'", nullptr,
          false)
AOS_ERROR(type_close_angle, "E001", "expected '>' to close the type's parameters", nullptr,
          false)
AOS_ERROR(map_type_comma, "E001", "expected ',' between the key and value types",
          "map types are written map<string, int>", false)
AOS_ERROR(type_expected, "E001", "expected a type",
          "types are string, int, uint, double, bool, time, duration, money, any, "
          "list<T>, map<K, V>, T? or a declared type",
          false)
AOS_ERROR(expr_expected, "E001", "expected an expression", nullptr, false)
AOS_ERROR(cond_then, "E001", "expected an expression after '?'", nullptr, false)
AOS_ERROR(cond_colon, "E001", "expected ':' in the conditional expression",
          "a conditional is written cond ? a : b", false)
AOS_ERROR(cond_else, "E001", "expected an expression after ':'", nullptr, false)
AOS_ERROR(operand_after_op, "E001", "expected an operand after the operator", nullptr, false)
AOS_ERROR(close_paren, "E001", "expected ',' or ')'", nullptr, false)
AOS_ERROR(close_bracket, "E001", "expected ',' or ']'", nullptr, false)
AOS_ERROR(close_brace_map, "E001", "expected ',' or '}' to continue or end the map",
          nullptr, false)
AOS_ERROR(map_colon, "E001", "expected ':' after the map key",
          "map entries are written {key: value} or {\"key\": value}", false)
AOS_ERROR(member_name, "E001", "expected a field or method name after '.'", nullptr, false)
AOS_ERROR(version_number, "E001", "expected a version number after 'aos'",
          "write for example: aos 0.1", false)
AOS_ERROR(import_path, "E001", "expected a quoted path after 'import'",
          "write for example: import \"shared/types.aos\"", false)
AOS_ERROR(field_colon, "E001", "expected ':' after the name",
          "fields and parameters are written name: type", false)
AOS_ERROR(key_field_body, "E001", "expected a field after 'key'",
          "write for example: key id: string", false)
AOS_ERROR(identity_field_body, "E001", "expected a field after 'identity'",
          "write for example: identity email: string", false)
AOS_ERROR(index_field, "E001", "expected a field name after 'index'",
          "write for example: index company", false)
AOS_ERROR(decl_name, "E001", "expected a name for the declaration",
          "names are letters, digits and '_', not starting with a digit, and not a "
          "reserved word",
          false)
AOS_ERROR(open_brace, "E001", "expected '{'", nullptr, false)
AOS_ERROR(close_type, "E003", "expected a field or '}'", nullptr, true)
AOS_ERROR(close_trigger, "E003", "expected a trigger item or '}'",
          "trigger items are schedule, every, timezone, missed, webhook, auth, key, body, start and signal", true)
AOS_ERROR(trg_missed_policy, "E001", "expected run_once or skip after 'missed'", nullptr, false)
AOS_ERROR(trg_signal_to, "E001", "expected 'to RUN' after the signal's name",
          "write for example: signal \"lead.replied\" to request.json.run_id with request.json", false)
AOS_ERROR(close_entity, "E003", "expected a field or '}'", nullptr, true)
AOS_ERROR(setting_colon, "E001", "expected ':' after the setting's name",
          "settings are written name: value", false)
AOS_ERROR(connector_eq, "E001", "expected '=' after the connector's name",
          "write for example: connector cms = http { base_url: \"...\" }", false)
AOS_ERROR(connector_kind, "E001", "expected the connector's kind after '='",
          "the only connector kind in version 0.1 is http", false)
AOS_ERROR(close_connector, "E003", "expected a setting or '}'",
          "connector settings are base_url, headers, auth and allow", true)
AOS_ERROR(close_agent, "E003", "expected a setting or '}'",
          "agent settings are model, instructions, output, temperature and max_tokens",
          true)
AOS_ERROR(int_expected, "E001", "expected a whole number", nullptr, false)
AOS_ERROR(backoff_base, "E001", "expected a duration after 'backoff'",
          "write for example: backoff 1s x 2", false)
AOS_ERROR(expr_end, "E001", "unexpected input after the expression", nullptr, false)
AOS_ERROR(backoff_factor, "E001", "expected a number after 'x'",
          "write for example: backoff 1s x 2", false)
AOS_ERROR(backoff_max, "E001", "expected a duration after 'max'",
          "write for example: backoff 1s x 2 max 30s", false)
AOS_ERROR(error_kinds, "E001", "expected an error kind",
          "error kinds are net, timeout, http.4xx, http.5xx, http.429, llm.schema, ...",
          false)
AOS_ERROR(kinds_close, "E001", "expected ',' or ']' in the list of error kinds", nullptr,
          false)
AOS_ERROR(retry_count, "E001", "expected the number of retries",
          "write for example: retry 3 backoff 1s", false)
AOS_ERROR(call_args, "E001", "expected '(' after the name of the call", nullptr, false)
AOS_ERROR(call_expected, "E001", "expected a call",
          "write for example: http.get(\"https://example.com\")", false)
AOS_ERROR(escalate_after, "E001", "expected 'after' after 'escalate'",
          "write for example: escalate after 3", false)
AOS_ERROR(close_modifiers, "E003", "expected a modifier or '}'",
          "modifiers are retry, timeout, cache, key, compensate, confirm, escalate and "
          "describe",
          true)
AOS_ERROR(after_names, "E001", "expected a statement name after 'after'", nullptr, false)
AOS_ERROR(stmt_name, "E001", "expected a name for the statement",
          "names are letters, digits and '_', not starting with a digit, and not a "
          "reserved word",
          false)
AOS_ERROR(assign, "E001", "expected '=' after the name", nullptr, false)
AOS_ERROR(on_timeout_action, "E001", "expected what happens on timeout",
          "on_timeout takes reject, approve, fail or escalate", false)
AOS_ERROR(close_approval, "E003", "expected an approval setting or '}'",
          "approval settings are ask, show, explain, timeout, returns and approvers", true)
AOS_ERROR(wait_how, "E001", "expected 'for' or 'until' after the wait's name",
          "write for example: wait cool_off for 2h", false)
AOS_ERROR(close_signal, "E003", "expected 'timeout' or '}'", nullptr, true)
AOS_ERROR(loop_var, "E001", "expected a loop variable after 'for'",
          "write for example: for lead in leads { ... }", false)
AOS_ERROR(for_in, "E001", "expected 'in' after the loop variable",
          "write for example: for lead in leads { ... }", false)
AOS_ERROR(close_for, "E003", "expected a statement or '}'", nullptr, true)
AOS_ERROR(for_item, "E001", "expected a statement",
          "statements begin with step, effect, approval, wait, signal, let, for, output "
          "or fail",
          false)
AOS_ERROR(kw_failure, "E001", "expected 'failure' after 'on'",
          "write for example: on failure compensate", false)
AOS_ERROR(failure_policy, "E001", "expected compensate, fail or escalate after 'on failure'",
          nullptr, false)
AOS_ERROR(params, "E001", "expected '(' after the workflow's name",
          "a workflow without parameters is written workflow name() { ... }", false)
AOS_ERROR(params_close, "E001", "expected ',' or ')' after the parameter", nullptr, false)
AOS_ERROR(close_workflow, "E003", "expected a statement or '}'", nullptr, true)
AOS_ERROR(workflow_item, "E001", "expected a statement or a setting",
          "statements begin with step, effect, approval, wait, signal, let, for, output "
          "or fail; settings are budget, concurrency, retry and on failure",
          false)
AOS_ERROR(declaration_expected, "E001", "expected a declaration",
          "a file holds type, entity, connector, agent, workflow, trigger, transform, migration "
          "and import declarations",
          false)
AOS_ERROR(transform_version, "E001", "expected the transform's version after its name",
          "write for example: transform ga4_signal v1 (row: Ga4Row) -> Signal { ... }", false)
AOS_ERROR(transform_result, "E001", "expected '->' and the type the transform makes",
          "write for example: transform ga4_signal v1 (row: Ga4Row) -> Signal { ... }", false)
AOS_ERROR(close_transform, "E003", "expected a field or '}'",
          "a transform's body is fields of its result, one per line: name: expression", true)
AOS_ERROR(migration_from, "E001", "expected the stored version after the entity's name",
          "write for example: migration Subscriber v1 -> v2 { ... }", false)
AOS_ERROR(migration_arrow, "E001", "expected '->' between the versions",
          "write for example: migration Subscriber v1 -> v2 { ... }", false)
AOS_ERROR(migration_to, "E001", "expected the new version after '->'",
          "write for example: migration Subscriber v1 -> v2 { ... }", false)
AOS_ERROR(budget_period, "E001", "expected month or day after 'per'", "write for example: budget 30.00 usd per month", false)
AOS_ERROR(drop_field, "E001", "expected a field name after 'drop'", "write for example: drop first, last", false)
AOS_ERROR(close_migration, "E003", "expected a field, 'drop' or '}'",
          "a migration's body is fields of the new declaration (name: expression using it) and drop lines", true)

// E002: an unterminated string or comment.
AOS_ERROR(block_comment_rest, "E002", "unterminated comment", "close it with */", false)
AOS_ERROR(dq_close, "E002", "unterminated string",
          "a \"...\" string ends on the line it starts; use \"\"\"...\"\"\" for text over "
          "several lines",
          true)
AOS_ERROR(tq_close, "E002", "unterminated string", "close it with \"\"\"", true)
AOS_ERROR(sq_close, "E002", "unterminated string",
          "a '...' string ends on the line it starts", true)
AOS_ERROR(raw_close, "E002", "unterminated string", "a raw string ends on the line it starts",
          true)
AOS_ERROR(raw_sq_close, "E002", "unterminated string", "a raw string ends on the line it starts", true)
AOS_ERROR(raw_tdq_close, "E002", "unterminated string", "close it with \"\"\"", true)
AOS_ERROR(tsq_close, "E002", "unterminated string", "close it with \'\'\'", true)
AOS_ERROR(raw_tsq_close, "E002", "unterminated string", "close it with \'\'\'", true)

// E004: nesting deeper than kMaxNesting.
AOS_ERROR(too_deep, "E004", "nesting too deep",
          "expressions and for loops nest at most 64 levels; split the expression with let",
          false)

#undef AOS_ERROR

}  // namespace aos::grammar

#endif  // AOS_GRAMMAR_ERRORS_H_
