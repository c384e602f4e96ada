#include "lang/diagnostic.h"

#include <algorithm>

namespace aos {

Diagnostic& Diagnostics::Error(const SourceFile* src, Span span, std::string code,
                               std::string message) {
  list_.push_back(Diagnostic{Severity::kError, std::move(code), std::move(message), src,
                             span, {}, {}});
  return list_.back();
}

Diagnostic& Diagnostics::Warning(const SourceFile* src, Span span, std::string code,
                                 std::string message) {
  list_.push_back(Diagnostic{Severity::kWarning, std::move(code), std::move(message),
                             src, span, {}, {}});
  return list_.back();
}

size_t Diagnostics::error_count() const {
  return std::count_if(list_.begin(), list_.end(),
                       [](const Diagnostic& d) { return d.severity == Severity::kError; });
}

size_t Diagnostics::warning_count() const { return list_.size() - error_count(); }

void Diagnostics::Sort() {
  std::stable_sort(list_.begin(), list_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    const std::string pa = a.source ? a.source->path() : "";
    const std::string pb = b.source ? b.source->path() : "";
    if (pa != pb) return pa < pb;
    return a.span.begin < b.span.begin;
  });
}

namespace {

const char* SeverityName(Severity s) {
  return s == Severity::kError ? "error" : "warning";
}

}  // namespace

std::string RenderText(const Diagnostic& d) {
  std::string out;
  LineCol pos;
  if (d.source) {
    pos = d.source->Position(d.span.begin);
    out += d.source->path() + ":" + std::to_string(pos.line) + ":" +
           std::to_string(pos.column) + ": ";
  }
  out += std::string(SeverityName(d.severity)) + "[" + d.code + "]: " + d.message + "\n";
  if (d.source) {
    const std::string_view line = d.source->Line(pos.line);
    const std::string gutter = std::to_string(pos.line);
    const std::string pad(gutter.size(), ' ');
    out += " " + gutter + " | " + std::string(line) + "\n";
    out += " " + pad + " | ";
    // Tabs in the prefix stay tabs so the caret lines up.
    for (uint32_t i = 0; i + 1 < pos.column && i < line.size(); ++i) {
      out += line[i] == '\t' ? '\t' : ' ';
    }
    const LineCol end = d.source->Position(d.span.end);
    uint32_t width = 1;
    if (end.line == pos.line && end.column > pos.column) width = end.column - pos.column;
    out += "^" + std::string(width - 1, '~') + "\n";
  }
  for (const auto& n : d.notes) out += "  note: " + n + "\n";
  for (const auto& h : d.hints) out += "  hint: " + h + "\n";
  return out;
}


namespace {

std::string JsonPos(const SourceFile* src, uint32_t offset) {
  const LineCol p = src ? src->Position(offset) : LineCol{};
  return "{\"line\":" + std::to_string(p.line) + ",\"column\":" + std::to_string(p.column) +
         ",\"offset\":" + std::to_string(offset) + "}";
}

std::string JsonStrings(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + JsonQuote(v[i]);
  return out + "]";
}

}  // namespace

std::string RenderJson(const std::vector<Diagnostic>& list) {
  std::string out = "[";
  for (size_t i = 0; i < list.size(); ++i) {
    const Diagnostic& d = list[i];
    if (i) out += ",";
    out += "{\"severity\":" + JsonQuote(SeverityName(d.severity)) +
           ",\"code\":" + JsonQuote(d.code) + ",\"message\":" + JsonQuote(d.message) +
           ",\"file\":" + JsonQuote(d.source ? d.source->path() : "") +
           ",\"range\":{\"start\":" + JsonPos(d.source, d.span.begin) +
           ",\"end\":" + JsonPos(d.source, std::max(d.span.end, d.span.begin)) +
           "},\"hints\":" + JsonStrings(d.hints) + ",\"notes\":" + JsonStrings(d.notes) +
           "}";
  }
  return out + "]";
}

}  // namespace aos
