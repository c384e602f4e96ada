#include "runtime/config.h"

#include "lang/value.h"
#include "runtime/pg_store.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

namespace aos {
namespace {

// Thrown inside this file only, with the node whose line it names.
struct ConfigError {
  int line;  // 1-based; 0 when unknown
  std::string message;
};

int LineOf(const YAML::Node& n) { return n.Mark().line >= 0 ? n.Mark().line + 1 : 0; }

void Fail(const YAML::Node& n, std::string message) { throw ConfigError{LineOf(n), std::move(message)}; }

void OnlyKeys(const YAML::Node& map, const std::string& where, const std::set<std::string>& allowed) {
  if (!map.IsMap()) Fail(map, where + " must be a mapping");
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    if (!allowed.count(key)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      Fail(kv.first, "unknown key '" + (where.empty() ? key : where + "." + key) +
                         "' (expected one of: " + list + ")");
    }
  }
}

std::string String(const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) Fail(n, "'" + key + "' must be a string");
  return n.as<std::string>();
}

double Number(const YAML::Node& n, const std::string& key) {
  double d = 0;
  if (!n.IsScalar() || !YAML::convert<double>::decode(n, d)) Fail(n, "'" + key + "' must be a number");
  if (d < 0) Fail(n, "'" + key + "' must not be negative");
  return d;
}

int Int(const YAML::Node& n, const std::string& key) {
  int i = 0;
  if (!n.IsScalar() || !YAML::convert<int>::decode(n, i)) Fail(n, "'" + key + "' must be a whole number");
  return i;
}

Config Parse(const YAML::Node& root, const std::string& path) {
  Config c;
  c.path = path;
  if (root.IsNull()) return c;
  OnlyKeys(root, "", {"data_dir", "store", "models", "smtp", "concurrency", "log", "secrets_file", "kb", "serve",
                      "workflows", "budgets"});
  if (auto n = root["workflows"]) {
    if (!n.IsSequence()) Fail(n, "'workflows' must be a list of workflow files or directories");
    for (const auto& item : n) c.workflows.push_back(String(item, "workflows"));
  }
  if (auto n = root["data_dir"]) c.data_dir = String(n, "data_dir");
  if (auto n = root["store"]) {
    c.store = String(n, "store");
    if (!IsPgUrl(c.store)) Fail(n, "'store' must be a postgresql:// URL (a data directory is data_dir)");
  }
  if (auto n = root["secrets_file"]) {
    c.secrets_file = String(n, "secrets_file");
    c.secrets_file_line = LineOf(n);
  }
  if (auto n = root["concurrency"]) {
    c.concurrency = Int(n, "concurrency");
    if (c.concurrency < 1) Fail(n, "'concurrency' must be at least 1");
  }
  if (auto log = root["log"]) {
    OnlyKeys(log, "log", {"level"});
    if (auto n = log["level"]) {
      c.log_level = String(n, "log.level");
      static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "off"};
      if (!levels.count(c.log_level)) {
        Fail(n, "'log.level' must be one of trace, debug, info, warn, error, off");
      }
    }
  }
  if (auto smtp = root["smtp"]) {
    OnlyKeys(smtp, "smtp", {"url", "from"});
    SmtpConfig s;
    if (!smtp["url"]) Fail(smtp, "'smtp.url' is required");
    s.url = String(smtp["url"], "smtp.url");
    if (auto n = smtp["from"]) s.from = String(n, "smtp.from");
    c.smtp = s;
  }
  if (auto models = root["models"]) {
    if (!models.IsMap()) Fail(models, "'models' must be a mapping of model names");
    for (const auto& kv : models) {
      const std::string name = kv.first.as<std::string>();
      const std::string where = "models." + name;
      const YAML::Node& m = kv.second;
      OnlyKeys(m, where, {"base_url", "model", "api_key_env", "price"});
      ModelConfig mc;
      if (!m["base_url"]) Fail(kv.first, "'" + where + ".base_url' is required");
      if (!m["model"]) Fail(kv.first, "'" + where + ".model' is required");
      mc.base_url = String(m["base_url"], where + ".base_url");
      mc.model = String(m["model"], where + ".model");
      if (auto n = m["api_key_env"]) mc.api_key_env = String(n, where + ".api_key_env");
      if (auto p = m["price"]) {
        OnlyKeys(p, where + ".price", {"input_per_mtok", "output_per_mtok", "currency"});
        if (auto n = p["input_per_mtok"]) mc.input_per_mtok = Number(n, where + ".price.input_per_mtok");
        if (auto n = p["output_per_mtok"]) mc.output_per_mtok = Number(n, where + ".price.output_per_mtok");
        if (auto n = p["currency"]) {
          std::string cur = String(n, where + ".price.currency");
          const bool code = cur.size() == 3 && std::all_of(cur.begin(), cur.end(), [](char ch) {
            return std::isalpha(static_cast<unsigned char>(ch));
          });
          if (!code) Fail(n, "'" + where + ".price.currency' must be a three-letter ISO 4217 code such as usd, not '" + cur + "'");
          for (auto& ch : cur) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          mc.currency = cur;
        }
      }
      c.models[name] = mc;
    }
  }
  if (auto serve = root["serve"]) {
    OnlyKeys(serve, "serve", {"max_runs", "grace"});
    if (auto n = serve["max_runs"]) {
      c.serve_max_runs = Int(n, "serve.max_runs");
      if (c.serve_max_runs < 1 || c.serve_max_runs > 1024) Fail(n, "'serve.max_runs' must be from 1 to 1024");
    }
    if (auto n = serve["grace"]) {
      auto d = ParseDurationText(String(n, "serve.grace"));
      if (!d || d->nanos < 0) Fail(n, "'serve.grace' must be a duration such as 10s");
      c.serve_grace_nanos = d->nanos;
    }
  }
  if (auto b = root["budgets"]) {
    OnlyKeys(b, "budgets", {"month", "day"});
    for (const char* period : {"month", "day"}) {
      auto n = b[period];
      if (!n) continue;
      const std::string where = std::string("budgets.") + period;
      auto m = ParseMoneyText(String(n, where));
      if (!m || m->nanos <= 0) Fail(n, "'" + where + "' must be an amount such as \"200 usd\"");
      (std::string(period) == "month" ? c.budget_month : c.budget_day) = *m;
    }
  }
  if (auto kb = root["kb"]) {
    OnlyKeys(kb, "kb", {"model"});
    if (!kb["model"]) Fail(kb, "'kb.model' is required (the model that embeds for kb.add and kb.search)");
    c.kb_model = String(kb["model"], "kb.model");
    if (!c.models.count(c.kb_model)) Fail(kb["model"], "'kb.model' names '" + c.kb_model + "', which is not in models");
  }
  return c;
}

}  // namespace

// The secrets file: NAME=VALUE lines, `#` comments and blank lines; a
// relative path is relative to the config file. Errors name the file and
// line, never a value.
static bool LoadSecrets(const std::string& config_path, Config* c, std::string* error) {
  std::filesystem::path p(c->secrets_file);
  if (p.is_relative()) p = std::filesystem::path(config_path).parent_path() / p;
  const std::string where = config_path + ":" + std::to_string(c->secrets_file_line) + ": ";
  // Only a regular file of bounded size: /dev/zero or a FIFO would never end,
  // and a directory reads as empty.
  std::error_code ec;
  const auto status = std::filesystem::status(p, ec);
  if (!ec && std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
    *error = where + "the secrets file " + p.string() + " is not a regular file (secrets_file)";
    return false;
  }
  if (!ec && std::filesystem::is_regular_file(status) && std::filesystem::file_size(p, ec) > kMaxSecretsFileBytes) {
    *error = where + "the secrets file " + p.string() + " is larger than " +
             std::to_string(kMaxSecretsFileBytes / 1024) + " KiB (secrets_file)";
    return false;
  }
  std::ifstream in(p);
  if (!in) {
    *error = where + "cannot read the secrets file " + p.string() + " (secrets_file)";
    return false;
  }
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    const size_t eq = line.find('=');
    std::string name = eq == std::string::npos ? "" : line.substr(first, eq - first);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
    bool ok = !name.empty();
    for (char ch : name) ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_');
    if (!ok) {
      *error = p.string() + ":" + std::to_string(n) + ": expected NAME=VALUE";
      return false;
    }
    c->secrets[name] = line.substr(eq + 1);
  }
  return true;
}

std::optional<std::string> LookupSecret(const Config* config, const std::string& name) {
  if (const char* v = std::getenv(name.c_str())) return std::string(v);
  if (config) {
    if (auto it = config->secrets.find(name); it != config->secrets.end()) return it->second;
  }
  return std::nullopt;
}

std::optional<Config> LoadConfig(const std::string& path, std::string* error, bool* unreadable) {
  if (unreadable) *unreadable = false;
  std::ifstream in(path);
  if (!in) {
    if (unreadable) *unreadable = true;
    *error = path + ": cannot read the config file";
    return std::nullopt;
  }
  try {
    Config c = Parse(YAML::Load(in), path);
    // data_dir is relative to the config file, like secrets_file: the same
    // config names the same data directory from any working directory.
    const std::filesystem::path base = std::filesystem::path(path).parent_path();
    if (std::filesystem::path(c.data_dir).is_relative() && !base.empty()) {
      c.data_dir = (base / c.data_dir).lexically_normal().string();
    }
    for (auto& w : c.workflows) {
      if (std::filesystem::path(w).is_relative() && !base.empty()) w = (base / w).lexically_normal().string();
    }
    if (!c.secrets_file.empty() && !LoadSecrets(path, &c, error)) return std::nullopt;
    return c;
  } catch (const ConfigError& e) {
    *error = path + ":" + std::to_string(e.line) + ": " + e.message;
  } catch (const YAML::Exception& e) {
    *error = path + ":" + std::to_string(e.mark.line + 1) + ": malformed YAML: " + e.msg;
  }
  return std::nullopt;
}

CheckOptions CheckOptionsFor(const Config* config) {
  CheckOptions opts;
  if (config) {
    opts.known_models.emplace();
    for (const auto& [name, m] : config->models) opts.known_models->insert(name);
  }
  return opts;
}

}  // namespace aos
