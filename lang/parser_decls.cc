// The declarations of a parse: types and entities, connectors, agents,
// triggers, transforms and migrations (the Converter's, parser_converter.h).
#include "lang/parser_converter.h"

namespace aos::parsing {

TypeRefPtr Converter::BuildTypeRef(uint32_t i) {
  auto t = std::make_unique<TypeRef>();
  t->span = SpanOf(i);
  for (uint32_t c : Kids(i)) {
    switch (n_[c].kind) {
      case NodeKind::type_name:
        t->name = std::string(Text(c));
        break;
      case NodeKind::list_type:
      case NodeKind::map_type:
      case NodeKind::ref_type:
        t->name = n_[c].kind == NodeKind::list_type ? "list" : n_[c].kind == NodeKind::map_type ? "map" : "ref";
        for (uint32_t p : Kids(c)) t->params.push_back(BuildTypeRef(p));
        break;
      case NodeKind::optional_mark:
        t->optional = true;
        break;
      default:
        break;
    }
  }
  return t;
}

Field Converter::BuildField(uint32_t i, bool is_key) {
  Field f;
  f.span = SpanOf(i);
  f.is_key = is_key;
  for (uint32_t c : Kids(i)) {
    switch (n_[c].kind) {
      case NodeKind::field_name:
        f.name = std::string(Text(c));
        f.name_span = SpanOf(c);
        break;
      case NodeKind::type_expr:
        f.type = BuildTypeRef(c);
        break;
      case NodeKind::field_default:
        f.default_value = BuildExpr(c + 1);
        break;
      default:
        break;
    }
  }
  return f;
}

void Converter::Name(uint32_t i, std::string* name, Span* span) {
  const uint32_t c = Child(i, NodeKind::decl_name);
  if (c) {
    *name = std::string(Text(c));
    *span = SpanOf(c);
  }
}

TypeDecl Converter::BuildType(uint32_t i) {
  TypeDecl t;
  t.span = SpanOf(i);
  t.is_entity = n_[i].kind == NodeKind::entity_decl;
  Name(i, &t.name, &t.name_span);
  for (uint32_t c : Kids(i)) {
    if (n_[c].kind == NodeKind::field) t.fields.push_back(BuildField(c, false));
    if (n_[c].kind == NodeKind::key_field) t.fields.push_back(BuildField(c + 1, true));
    if (n_[c].kind == NodeKind::identity_field) {
      t.fields.push_back(BuildField(c + 1, false));
      t.fields.back().is_identity = true;
    }
    if (n_[c].kind == NodeKind::index_decl) t.indexes.push_back(TypeDecl::Index{Text(c + 1), SpanOf(c + 1)});
  }
  return t;
}

Setting Converter::BuildSetting(uint32_t i) {
  Setting s;
  s.span = SpanOf(i);
  if (n_[i].kind == NodeKind::output_setting) {
    s.key = "output";
    s.key_span = Span{n_[i].begin, n_[i].begin + 6};
    s.type = BuildTypeRef(i + 1);
    return s;
  }
  for (uint32_t c : Kids(i)) {
    // A setting's key, or a transform's or migration's field name.
    if (n_[c].kind == NodeKind::setting_key || n_[c].kind == NodeKind::body_field_name) {
      s.key = std::string(Text(c));
      s.key_span = SpanOf(c);
    } else if (n_[c].kind == NodeKind::expr) {
      s.value = BuildExpr(c);
    }
  }
  return s;
}

ConnectorDecl Converter::BuildConnector(uint32_t i) {
  ConnectorDecl d;
  d.span = SpanOf(i);
  Name(i, &d.name, &d.name_span);
  for (uint32_t c : Kids(i)) {
    if (n_[c].kind == NodeKind::connector_kind) {
      d.kind = std::string(Text(c));
      d.kind_span = SpanOf(c);
    } else if (n_[c].kind == NodeKind::setting) {
      d.settings.push_back(BuildSetting(c));
    }
  }
  return d;
}

AgentDecl Converter::BuildAgent(uint32_t i) {
  AgentDecl d;
  d.span = SpanOf(i);
  Name(i, &d.name, &d.name_span);
  for (uint32_t c : Kids(i)) {
    if (n_[c].kind == NodeKind::setting || n_[c].kind == NodeKind::output_setting) {
      d.settings.push_back(BuildSetting(c));
    }
  }
  return d;
}

TriggerDecl Converter::BuildTrigger(uint32_t i) {
  TriggerDecl d;
  d.span = SpanOf(i);
  Name(i, &d.name, &d.name_span);
  for (uint32_t c : Kids(i)) {
    switch (n_[c].kind) {
      case NodeKind::trg_schedule: d.schedule = BuildExpr(c + 1); break;
      case NodeKind::trg_every: d.every = BuildExpr(c + 1); break;
      case NodeKind::trg_timezone: d.timezone = BuildExpr(c + 1); break;
      case NodeKind::trg_webhook: d.webhook = BuildExpr(c + 1); break;
      case NodeKind::trg_auth: d.auth = BuildExpr(c + 1); break;
      case NodeKind::trg_key: d.key = BuildExpr(c + 1); break;
      case NodeKind::trg_body:
        if (uint32_t t = Child(c, NodeKind::type_expr)) d.body = BuildTypeRef(t);
        break;
      case NodeKind::trg_start: d.start = BuildCall(c + 1); break;
      case NodeKind::trg_missed:
        if (uint32_t a = Child(c, NodeKind::trg_missed_policy)) {
          d.missed = std::string(Text(a));
          d.missed_span = SpanOf(a);
          CheckWord(a, {"run_once", "skip"}, "a missed policy");
        }
        break;
      case NodeKind::trg_signal:
        d.signal = BuildExpr(c + 1);
        if (uint32_t t = Child(c, NodeKind::trg_signal_to)) d.signal_to = BuildExpr(t + 1);
        if (uint32_t w = Child(c, NodeKind::trg_signal_with)) d.signal_with = BuildExpr(w + 1);
        break;
      default:
        break;
    }
  }
  return d;
}
int Converter::VersionOf(uint32_t i) {
  const std::string_view t = Text(i).substr(1);
  int v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size() || v < 1) {
    Error(SpanOf(i), "a version is v followed by a number from 1, as in v2");
    return 0;
  }
  return v;
}

TransformDecl Converter::BuildTransform(uint32_t i) {
  TransformDecl d;
  d.span = SpanOf(i);
  Name(i, &d.name, &d.name_span);
  for (uint32_t c : Kids(i)) {
    switch (n_[c].kind) {
      case NodeKind::transform_version:
        d.version = VersionOf(c);
        d.version_span = SpanOf(c);
        break;
      case NodeKind::param:
        d.params.push_back(BuildField(c, false));
        break;
      case NodeKind::transform_result:
        d.result = BuildTypeRef(c + 1);
        break;
      case NodeKind::body_field:
        d.fields.push_back(BuildSetting(c));
        break;
      default:
        break;
    }
  }
  return d;
}

MigrationDecl Converter::BuildMigration(uint32_t i) {
  MigrationDecl d;
  d.span = SpanOf(i);
  Name(i, &d.entity, &d.entity_span);
  for (uint32_t c : Kids(i)) {
    switch (n_[c].kind) {
      case NodeKind::migration_from:
        d.from = VersionOf(c);
        d.from_span = SpanOf(c);
        break;
      case NodeKind::migration_to:
        d.to = VersionOf(c);
        d.to_span = SpanOf(c);
        break;
      case NodeKind::body_field:
        d.fields.push_back(BuildSetting(c));
        break;
      case NodeKind::migration_drop:
        for (uint32_t f : Kids(c)) {
          if (n_[f].kind == NodeKind::drop_field) d.drops.push_back({std::string(Text(f)), SpanOf(f)});
        }
        break;
      default:
        break;
    }
  }
  return d;
}

}  // namespace aos::parsing
