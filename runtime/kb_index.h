// KbIndex: exact nearest-neighbour search for kb.search. Each collection's
// vectors are held in memory as one float32 matrix per dimension, loaded
// from Column::kKb on a collection's first search and kept current by the
// store's batches (a StoreView): kb.add and kb.delete mark their entries
// stale, and the next search reads only those again. A search scores every
// entry (cosine similarity, summed in double) and yields them best first,
// ties by id, so results do not depend on the order entries were loaded.
//
// The index lives with its store (Store::View). A store that is not its
// sole writer (a read-only view of another process's data directory) gets
// a fresh index per search.
#ifndef AOS_RUNTIME_KB_INDEX_H_
#define AOS_RUNTIME_KB_INDEX_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/store.h"

namespace aos {

class KbIndex : public StoreView {
 public:
  // The store's index (made on first use).
  static std::shared_ptr<KbIndex> Of(Store& store);

  // Visits the entries of `collection` best first by cosine similarity to
  // `query` (entries of another dimension, or a zero vector, score 0), until
  // `visit` returns false. `visit` runs with no lock of the index held: it
  // may read and write the store.
  void Rank(Store& store, const std::string& collection, const std::vector<double>& query,
            const std::function<bool(const std::string& id, double score)>& visit);

  void Applied(const WriteBatch& batch) override;

  // How many entries the collection holds in memory (-1: not loaded).
  long Loaded(const std::string& collection);

 private:
  // The entries of one dimension: row r is rows[r*dim .. (r+1)*dim).
  struct Matrix {
    size_t dim = 0;
    std::vector<float> rows;
    std::vector<double> inv_norm;  // 0 for a zero vector
    std::vector<std::string> ids;
  };
  struct Collection {
    std::map<size_t, Matrix> by_dim;
    std::unordered_map<std::string, std::pair<size_t, size_t>> where;  // id -> (dim, row)
  };
  static void Load(Store& store, const std::string& collection, Collection& c);
  static void Refresh(Store& store, const std::string& collection, Collection& c, const std::set<std::string>& stale);
  static void Put(Collection& c, const std::string& id, const std::vector<float>& v);
  static void Remove(Collection& c, const std::string& id);

  std::mutex mu_;  // the collections; held while one is loaded or scored
  std::unordered_map<std::string, Collection> collections_;
  // Ids written since each loaded collection last read them: Applied only
  // takes this small lock, so writers never wait for a search.
  std::mutex stale_mu_;
  std::unordered_map<std::string, std::set<std::string>> stale_;
};

}  // namespace aos

#endif  // AOS_RUNTIME_KB_INDEX_H_
