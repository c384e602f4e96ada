#include "runtime/config.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

namespace fs = std::filesystem;

namespace {

// A fresh directory under the system's temp directory, removed at scope end.
struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("aos-config-test-" + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string Write(const std::string& name, const std::string& text) const {
    fs::create_directories((path / name).parent_path());
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

}  // namespace

TEST_CASE("config: data_dir is relative to the config file, not the working directory") {
  TempDir t;
  const std::string cfg = t.Write("conf/aos.yaml", "data_dir: state\n");
  std::string error;
  auto c = aos::LoadConfig(cfg, &error);
  REQUIRE(c);
  CHECK(fs::path(c->data_dir) == (t.path / "conf" / "state").lexically_normal());

  // The default .aos sits beside the config too.
  const std::string bare = t.Write("other/aos.yaml", "concurrency: 2\n");
  auto d = aos::LoadConfig(bare, &error);
  REQUIRE(d);
  CHECK(fs::path(d->data_dir) == (t.path / "other" / ".aos").lexically_normal());

  // An absolute data_dir is kept as written.
  const std::string abs = t.Write("abs/aos.yaml", "data_dir: /var/lib/aos\n");
  auto e = aos::LoadConfig(abs, &error);
  REQUIRE(e);
  CHECK(e->data_dir == "/var/lib/aos");
}

TEST_CASE("config: a secrets file must be a regular file of bounded size") {
  TempDir t;
  std::string error;

  SECTION("a device is refused at once, naming the config line") {
    const std::string cfg = t.Write("aos.yaml", "concurrency: 2\nsecrets_file: /dev/zero\n");
    CHECK_FALSE(aos::LoadConfig(cfg, &error));
    CHECK(error == cfg + ":2: the secrets file /dev/zero is not a regular file (secrets_file)");
  }
  SECTION("a directory is refused") {
    fs::create_directories(t.path / "secrets.d");
    const std::string cfg = t.Write("aos.yaml", "secrets_file: secrets.d\n");
    CHECK_FALSE(aos::LoadConfig(cfg, &error));
    CHECK(error.find("is not a regular file") != std::string::npos);
  }
  SECTION("an oversized file is refused") {
    t.Write("big.env", std::string(aos::kMaxSecretsFileBytes + 1, '#'));
    const std::string cfg = t.Write("aos.yaml", "secrets_file: big.env\n");
    CHECK_FALSE(aos::LoadConfig(cfg, &error));
    CHECK(error.find("is larger than 1024 KiB") != std::string::npos);
  }
  SECTION("a missing file names itself") {
    const std::string cfg = t.Write("aos.yaml", "secrets_file: none.env\n");
    CHECK_FALSE(aos::LoadConfig(cfg, &error));
    CHECK(error.find("cannot read the secrets file") != std::string::npos);
  }
  SECTION("a regular file is read") {
    t.Write("ok.env", "TOKEN=abc\n");
    const std::string cfg = t.Write("aos.yaml", "secrets_file: ok.env\n");
    auto c = aos::LoadConfig(cfg, &error);
    REQUIRE(c);
    CHECK(c->secrets.at("TOKEN") == "abc");
  }
}

TEST_CASE("config: a model's price currency is a three-letter code, read in lower case") {
  TempDir t;
  const std::string model = "models:\n  small:\n    base_url: http://localhost:1/v1\n    model: m\n    price:\n"
                            "      input_per_mtok: 1\n      output_per_mtok: 2\n      currency: ";
  std::string error;
  auto ok = aos::LoadConfig(t.Write("a/aos.yaml", model + "EUR\n"), &error);
  REQUIRE(ok);
  CHECK(ok->models.at("small").currency == "eur");
  auto bad = aos::LoadConfig(t.Write("b/aos.yaml", model + "credits_eu\n"), &error);
  CHECK_FALSE(bad);
  CHECK(error.find(":8:") != std::string::npos);  // the file's line
  CHECK(error.find("'models.small.price.currency' must be a three-letter ISO 4217 code") != std::string::npos);
}
