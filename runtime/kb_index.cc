#include "runtime/kb_index.h"

#include <algorithm>
#include <cmath>

#include "runtime/codec.h"
#include "runtime/kv_kb.h"

namespace aos {

namespace {

// One dot product per row, summed in double: the AVX2 and plain builds add
// in other orders, which moves a score in its last bits only. Memory-bound:
// 100,000 x 768 takes about 10 ms on one core; AVX2 where the machine has it.
__attribute__((target_clones("avx2", "default"))) void Dots(const float* rows, size_t n, size_t dim,
                                                             const double* q, double* out) {
  for (size_t r = 0; r < n; ++r) {
    const float* row = rows + r * dim;
    double dot = 0;
#pragma omp simd reduction(+ : dot)
    for (size_t i = 0; i < dim; ++i) dot += q[i] * static_cast<double>(row[i]);
    out[r] = dot;
  }
}

double InverseNorm(const float* v, size_t dim) {
  double sq = 0;
  for (size_t i = 0; i < dim; ++i) sq += static_cast<double>(v[i]) * v[i];
  return sq > 0 ? 1 / std::sqrt(sq) : 0;
}

std::string Id(std::string_view key, size_t prefix) { return std::string(key.substr(prefix)); }

}  // namespace

std::shared_ptr<KbIndex> KbIndex::Of(Store& store) {
  auto view = store.View("kb", [] { return std::make_shared<KbIndex>(); });
  return view ? std::static_pointer_cast<KbIndex>(view) : std::make_shared<KbIndex>();
}

void KbIndex::Put(Collection& c, const std::string& id, const std::vector<float>& v) {
  Remove(c, id);
  Matrix& m = c.by_dim[v.size()];
  m.dim = v.size();
  c.where[id] = {v.size(), m.ids.size()};
  m.rows.insert(m.rows.end(), v.begin(), v.end());
  m.inv_norm.push_back(InverseNorm(v.data(), v.size()));
  m.ids.push_back(id);
}

void KbIndex::Remove(Collection& c, const std::string& id) {
  auto it = c.where.find(id);
  if (it == c.where.end()) return;
  Matrix& m = c.by_dim[it->second.first];
  const size_t row = it->second.second, last = m.ids.size() - 1;
  c.where.erase(it);
  if (row != last) {  // the last row moves into the hole
    std::copy_n(m.rows.begin() + static_cast<long>(last * m.dim), m.dim, m.rows.begin() + static_cast<long>(row * m.dim));
    m.inv_norm[row] = m.inv_norm[last];
    m.ids[row] = std::move(m.ids[last]);
    c.where[m.ids[row]].second = row;
  }
  m.rows.resize(last * m.dim);
  m.inv_norm.pop_back();
  m.ids.pop_back();
}

void KbIndex::Load(Store& store, const std::string& collection, Collection& c) {
  const std::string prefix = KbKey(collection, "");
  store.Scan(Column::kKb, prefix, prefix, [&](std::string_view key, std::string_view raw) {
    Value e;
    if (DecodeValue(raw, &e)) Put(c, Id(key, prefix.size()), UnpackVector(e.Find("vector")));
    return true;
  });
}

void KbIndex::Refresh(Store& store, const std::string& collection, Collection& c,
                      const std::set<std::string>& stale) {
  for (const std::string& id : stale) {
    Value e;
    auto raw = store.Get(Column::kKb, KbKey(collection, id));
    if (raw && DecodeValue(*raw, &e)) {
      Put(c, id, UnpackVector(e.Find("vector")));
    } else {
      Remove(c, id);
    }
  }
}

void KbIndex::Applied(const WriteBatch& batch) {
  if (std::none_of(batch.ops.begin(), batch.ops.end(), [](const auto& op) { return op.column == Column::kKb; })) {
    return;
  }
  std::lock_guard<std::mutex> lock(stale_mu_);
  for (const auto& op : batch.ops) {
    const size_t nul = op.column == Column::kKb ? op.key.find('\0') : std::string::npos;
    if (nul == std::string::npos) continue;
    auto it = stale_.find(op.key.substr(0, nul));
    if (it != stale_.end()) it->second.insert(op.key.substr(nul + 1));
  }
}

long KbIndex::Loaded(const std::string& collection) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = collections_.find(collection);
  return it == collections_.end() ? -1 : static_cast<long>(it->second.where.size());
}

void KbIndex::Rank(Store& store, const std::string& collection, const std::vector<double>& query,
                   const std::function<bool(const std::string&, double)>& visit) {
  std::vector<std::pair<double, std::string>> hits;  // score, id
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = collections_.find(collection);
    if (it == collections_.end()) {
      {
        // From here on writes to the collection are marked: one that lands
        // while it loads is read again below.
        std::lock_guard<std::mutex> marks(stale_mu_);
        stale_[collection];
      }
      Collection c;
      try {
        Load(store, collection, c);
      } catch (...) {
        std::lock_guard<std::mutex> marks(stale_mu_);
        stale_.erase(collection);
        throw;
      }
      it = collections_.emplace(collection, std::move(c)).first;
    }
    std::set<std::string> stale;
    {
      std::lock_guard<std::mutex> marks(stale_mu_);
      stale.swap(stale_[collection]);
    }
    Refresh(store, collection, it->second, stale);
    // Scores: the query's dimension by the matrix; every other entry 0.
    const Collection& c = it->second;
    hits.reserve(c.where.size());
    double q_sq = 0;
    for (double x : query) q_sq += x * x;
    const double q_inv = q_sq > 0 ? 1 / std::sqrt(q_sq) : 0;
    for (const auto& [dim, m] : c.by_dim) {
      const size_t n = m.ids.size();
      if (dim == query.size() && q_inv > 0 && dim > 0) {
        std::vector<double> dots(n);
        Dots(m.rows.data(), n, dim, query.data(), dots.data());
        for (size_t r = 0; r < n; ++r) {
          const double score = dots[r] * m.inv_norm[r] * q_inv;
          hits.emplace_back(std::isnan(score) ? 0.0 : score, m.ids[r]);  // a NaN would break the order
        }
      } else {
        for (size_t r = 0; r < n; ++r) hits.emplace_back(0.0, m.ids[r]);
      }
    }
  }
  // Best first, lazily: a heap, popped until the visitor has enough.
  using Hit = std::pair<double, std::string>;
  auto worse = [](const Hit& a, const Hit& b) { return a.first != b.first ? a.first < b.first : a.second > b.second; };
  std::make_heap(hits.begin(), hits.end(), worse);
  for (auto end = hits.end(); end != hits.begin(); --end) {
    std::pop_heap(hits.begin(), end, worse);
    const Hit& best = *(end - 1);
    if (!visit(best.second, best.first)) break;
  }
}

}  // namespace aos
