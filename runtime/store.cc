#include "runtime/store.h"

#include "runtime/codec.h"

#include <chrono>
#include <thread>

namespace aos {

const char* ColumnName(Column c) {
  switch (c) {
    case Column::kEvents: return "events";
    case Column::kRuns: return "runs";
    case Column::kIdempotency: return "idempotency";
    case Column::kEntities: return "entities";
    case Column::kKv: return "kv";
    case Column::kSnapshots: return "snapshots";
    case Column::kCache: return "cache";
    case Column::kMeta: return "meta";
    case Column::kSignals: return "signals";
    case Column::kKb: return "kb";
    case Column::kDue: return "due";
  }
  return "?";
}

std::string EventPrefix(std::string_view run_id) {
  std::string k(run_id);
  k.push_back('\0');
  return k;
}

std::string EventKey(std::string_view run_id, uint64_t seq) {
  std::string k;
  k.reserve(run_id.size() + 9);
  k.append(run_id);
  k.push_back('\0');
  PutBigEndian64(k, seq);
  return k;
}

HeldLease::~HeldLease() {
  if (!held_) return;
  try {
    store_.ReleaseRun(run_id_);
  } catch (const std::exception&) {
    // It runs out by itself.
  }
}

LeaseRenewal::LeaseRenewal(Store& store) : store_(store) {
  if (!store_.Shared()) return;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; })) {
      lock.unlock();
      try {
        store_.RenewLeases();  // a lease taken over is refused at the run's next append, which says so
      } catch (const std::exception&) {
        // The server is away: the next turn tries again; a lease that runs
        // out meanwhile is lost, and the run's next append says so.
      }
      lock.lock();
    }
  });
}

LeaseRenewal::~LeaseRenewal() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

int64_t Store::WaitForDue(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return 0;
}

bool Store::CompareAndSet(Column c, std::string_view key, const std::optional<std::string>& expected,
                          const std::string& value, std::optional<std::string>* current) {
  std::lock_guard<std::mutex> lock(cas_mu_);
  *current = Get(c, key);
  if (*current != expected) return false;
  WriteBatch b;
  b.Put(c, std::string(key), value);
  Write(b, false);
  *current = value;
  return true;
}

std::shared_ptr<StoreView> Store::View(const std::string& name,
                                       const std::function<std::shared_ptr<StoreView>()>& make) {
  if (!SoleWriter()) return nullptr;
  std::lock_guard<std::mutex> lock(views_mu_);
  for (const auto& [n, v] : views_) {
    if (n == name) return v;
  }
  views_.emplace_back(name, make());
  return views_.back().second;
}

void Store::TellViews(const WriteBatch& batch) {
  std::vector<std::shared_ptr<StoreView>> views;
  {
    std::lock_guard<std::mutex> lock(views_mu_);
    if (views_.empty()) return;
    for (const auto& v : views_) views.push_back(v.second);
  }
  for (const auto& v : views) v->Applied(batch);
}

void Store::DropViews() {
  std::lock_guard<std::mutex> lock(views_mu_);
  views_.clear();
}

namespace {

template <typename Table>
void Apply(Table* tables, const WriteBatch& batch) {
  for (const auto& op : batch.ops) {
    auto& t = tables[static_cast<int>(op.column)];
    if (op.value) {
      t.insert_or_assign(op.key, *op.value);
    } else {
      auto it = t.find(op.key);
      if (it != t.end()) t.erase(it);
    }
  }
}

}  // namespace

void MemoryStore::Write(const WriteBatch& batch, bool sync) {
  bool crash = false;
  {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    Apply(live_, batch);
    unsynced_.push_back(batch);
    if (sync) {
      for (const auto& b : unsynced_) Apply(durable_, b);
      unsynced_.clear();
      ++syncs_;
    }
    const uint64_t before = appends_;
    appends_ += static_cast<uint64_t>(batch.events);
    crash = crash_at_ && before < crash_at_ && appends_ >= crash_at_;
  }
  if (batch.state_writes) TellViews(batch);
  if (crash) throw SimulatedCrash{};
}

void MemoryStore::Crash() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  for (int i = 0; i < kColumnCount; ++i) live_[i] = durable_[i];
  unsynced_.clear();
  crash_at_ = 0;
  DropViews();  // they saw writes the store just forgot
}

void MemoryStore::CrashProcess() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  // What was written reached the OS: it survives the process, synced or not.
  for (int i = 0; i < kColumnCount; ++i) durable_[i] = live_[i];
  unsynced_.clear();
  crash_at_ = 0;
}

std::optional<std::string> MemoryStore::Get(Column c, std::string_view key) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  const auto& t = live_[static_cast<int>(c)];
  auto it = t.find(key);
  if (it == t.end()) return std::nullopt;
  return it->second;
}

void MemoryStore::Scan(Column c, std::string_view prefix, std::string_view start,
                       const std::function<bool(std::string_view, std::string_view)>& visit) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  const auto& t = live_[static_cast<int>(c)];
  std::string_view from = start < prefix ? prefix : start;
  for (auto it = t.lower_bound(from); it != t.end(); ++it) {
    if (std::string_view(it->first).substr(0, prefix.size()) != prefix) break;
    if (!visit(it->first, it->second)) break;
  }
}

std::optional<std::string> MemoryStore::LastKey(Column c, std::string_view prefix) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  std::optional<std::string> last;
  Scan(c, prefix, prefix, [&](std::string_view k, std::string_view) {
    last = std::string(k);
    return true;
  });
  return last;
}

}  // namespace aos
