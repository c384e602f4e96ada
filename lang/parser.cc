#include "lang/parser.h"

#include "grammar/grammar.h"
#include "lang/parser_converter.h"

namespace aos {
namespace {

using parsing::Converter;
namespace g = grammar;
using g::NodeKind;

template <typename Rule>
bool RunGrammar(const SourceFile& src, g::ParseState& st) {
  tao::pegtl::memory_input<tao::pegtl::tracking_mode::lazy> in(src.text(), src.path());
  try {
    return tao::pegtl::parse<Rule, tao::pegtl::nothing, g::tree_control>(in, st);
  } catch (const tao::pegtl::parse_error& e) {
    const auto& pos = e.positions().front();
    g::SyntaxError err{static_cast<uint32_t>(pos.byte), std::string(e.message()),
                       st.pending_code ? st.pending_code : "E001", st.pending_hint, false,
                       g::Opener{}};
    if (st.pending_closes && !st.openers.empty()) {
      err.has_opener = true;
      err.opener = st.openers.back();
    }
    st.errors.push_back(std::move(err));
    return false;
  }
}

}  // namespace

std::unique_ptr<Module> ParseModule(const SourceFile& src, Diagnostics& diags) {
  g::ParseState st(src.text());
  const size_t before = diags.error_count();
  Converter conv(st, &src, diags);
  st.on_item = &Converter::OnItem;
  st.user = &conv;
  const bool ok = RunGrammar<g::file>(src, st);
  if (!st.errors.empty() || !ok) {
    if (st.errors.empty()) {
      diags.Error(&src, Span{0, 0}, "E001", "could not parse the file");
    }
    // Conversion errors of statements parsed before a syntax error are noise.
    diags.all().resize(before);
    ReportSyntaxErrors(st, src, diags);
    return nullptr;
  }
  auto m = conv.BuildModule();
  if (diags.error_count() > before) return nullptr;
  return m;
}

OwnedExpr ParseExpression(const SourceFile& src, Diagnostics& diags) {
  OwnedExpr out;
  g::ParseState st(src.text());
  const bool ok = RunGrammar<g::expression_only>(src, st);
  if (!st.errors.empty() || !ok) {
    if (st.errors.empty()) diags.Error(&src, Span{0, 0}, "E001", "expected an expression");
    ReportSyntaxErrors(st, src, diags);
    return out;
  }
  const size_t before = diags.error_count();
  Converter conv(st, &src, diags);
  uint32_t root = 0;
  while (root < st.nodes.size() && st.nodes[root].kind != g::NodeKind::expr) ++root;
  if (root == st.nodes.size()) return out;
  const Expr* e = conv.BuildExpr(root);
  out.pool = conv.TakePool();
  if (diags.error_count() == before) out.expr = e;
  return out;
}

OwnedExpr ParseExpression(std::string_view text, std::string* error) {
  auto source = std::make_unique<SourceFile>("<expr>", std::string(text));
  Diagnostics diags;
  OwnedExpr out = ParseExpression(*source, diags);
  out.source = std::move(source);
  if (!out.expr && error) {
    const Diagnostic& d = diags.all().front();
    const LineCol p = out.source->Position(d.span.begin);
    *error = std::to_string(p.line) + ":" + std::to_string(p.column) + ": " + d.message;
  }
  return out;
}

}  // namespace aos
