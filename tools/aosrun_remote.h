// The CLI through serve's API: while `aosrun serve` holds a data directory,
// the commands that write (start, approve, reject, signal, cancel) ask it
// instead of exiting 73, with the same output and exit codes.
#ifndef AOS_TOOLS_AOSRUN_REMOTE_H_
#define AOS_TOOLS_AOSRUN_REMOTE_H_

#include <optional>
#include <string>

#include "runtime/config.h"
#include "runtime/runner.h"

namespace aosrun {

struct Remote {
  std::string address;  // http://127.0.0.1:7070
  std::string token;
};

// The serve token an operator configured: $AOS_SERVE_TOKEN when set and not
// empty, else the config's secrets file; nullopt when neither (serve then
// makes one in DATA/serve.token, which the CLI reads).
std::optional<std::string> ConfiguredToken(const aos::Config* config);

// The serve process holding `data_dir` (DATA/serve.json, its pid alive) and
// the token to talk to it; nullopt when none runs.
std::optional<Remote> FindServe(const std::string& data_dir, const aos::Config& config);

// One API call. Returns the HTTP status (0 when the call failed; *error
// says why); *body is the answer.
int Call(const Remote& r, const std::string& method, const std::string& path, const std::string& json_body,
         std::string* body, std::string* error);

// An outcome as the API sends it ({run_id, status, output, error,
// waiting_on}); false when `json` is not one. An API error body
// ({error: {kind, message}}) sets *message instead.
bool ParseOutcome(const std::string& json, std::string* run_id, aos::RunOutcome* o, std::string* message,
                  std::string* kind);

}  // namespace aosrun

#endif  // AOS_TOOLS_AOSRUN_REMOTE_H_
