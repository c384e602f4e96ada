// Config: the contents of aos.yaml (runtime.md §8), read with yaml-cpp.
// Unknown keys, wrong types and missing required fields are errors that name
// the file, the line and the key; YAML::Exception stops in config.cc.
#ifndef AOS_RUNTIME_CONFIG_H_
#define AOS_RUNTIME_CONFIG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lang/checker.h"

namespace aos {

struct ModelConfig {
  std::string base_url;       // e.g. http://127.0.0.1:11434/v1
  std::string model;          // the provider's model id
  std::string api_key_env;    // name of the environment variable; may be empty
  double input_per_mtok = 0;  // price per million input tokens
  double output_per_mtok = 0;
  std::string currency = "usd";
};

struct SmtpConfig {
  std::string url;   // smtp://host:port
  std::string from;
};

struct Config {
  std::string path;  // where it was read from; "" for the defaults
  // Relative to the config file's directory (LoadConfig resolves it), so a
  // config names one data directory whatever the working directory.
  std::string data_dir = ".aos";
  // store: a postgresql:// URL: the PostgreSQL store (docs/cluster.md); "" the data directory's.
  std::string store;
  std::map<std::string, ModelConfig> models;
  std::optional<SmtpConfig> smtp;
  int concurrency = 8;
  std::string log_level = "info";
  // secret("NAME") is read from the environment, then from this file of
  // NAME=VALUE lines (secrets_file:, relative to the config file).
  std::string secrets_file;
  int secrets_file_line = 0;
  std::map<std::string, std::string> secrets;
  // kb.add / kb.search embed with this model (kb: {model: NAME}).
  std::string kb_model;
  // aosrun serve (serve: {max_runs: N, grace: D}): the workers that run due
  // runs and timed triggers, and how long a stop waits for work in hand.
  int serve_max_runs = 8;
  int64_t serve_grace_nanos = 10'000'000'000;
  // What `aosrun serve` serves when given no FILE (workflows: [...]): files
  // or directories (their *.aos files), relative to the config file.
  std::vector<std::string> workflows;
  // budgets: {month: "200 usd", day: "20 usd"}: model spending of every
  // workflow together, per calendar month and day (UTC). Absent: no cap.
  std::optional<Money> budget_month, budget_day;
};

// What the checker must know of a config: its model names (a workflow
// naming another model is an error). Without a config, any name goes.
CheckOptions CheckOptionsFor(const Config* config);

// The largest secrets file read (a secrets file is a few lines).
constexpr uintmax_t kMaxSecretsFileBytes = 1 << 20;

// Reads `path`. Returns nullopt with *error as "FILE:LINE: message" when the
// file is missing, malformed or holds a bad key; *unreadable (when given) is
// set when the config file itself could not be read (the tools exit 74 then;
// 64/65 for bad contents, a bad secrets file included).
std::optional<Config> LoadConfig(const std::string& path, std::string* error, bool* unreadable = nullptr);

// A secret's value: the environment variable of that name, else the
// config's secrets file (config may be null); nullopt when neither has it.
std::optional<std::string> LookupSecret(const Config* config, const std::string& name);

}  // namespace aos

#endif  // AOS_RUNTIME_CONFIG_H_
