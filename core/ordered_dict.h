#pragma once
// An insertion-ordered dictionary with O(1) lookup by key, as libtorch's torch::OrderedDict: what
// nn::Module keeps its parameters, buffers and children in.

#include <cstddef>
#include <deque>
#include <unordered_map>
#include <utility>

namespace voxgrad {

/// Entries (key, value) in insertion order with average O(1) lookup by key. Keys are unique and
/// cannot change (iteration is read-only; change a value through find()). insert() keeps every
/// reference to an existing value valid (entries are never moved), so a pointer returned by
/// insert() stays usable as more entries are added.
template <class Key, class Value>
class OrderedDict {
 public:
  /// One entry; iteration yields these in insertion order (`for (const auto& [key, value] : dict)`).
  using Item = std::pair<Key, Value>;
  /// Read-only iterator over the entries in insertion order.
  using const_iterator = typename std::deque<Item>::const_iterator;

  /// Appends (key, value) and returns the stored value, or returns null without changing anything if
  /// `key` is already present (the caller reports the duplicate in its own words).
  Value* insert(Key key, Value value) {
    if (index_.count(key) != 0) return nullptr;
    items_.emplace_back(key, std::move(value));
    index_.emplace(std::move(key), items_.size() - 1);
    return &items_.back().second;
  }
  /// The value stored under `key`, or null.
  Value* find(const Key& key) {
    const auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].second;
  }
  /// The value stored under `key`, or null.
  const Value* find(const Key& key) const {
    const auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].second;
  }
  /// True if `key` is present.
  bool contains(const Key& key) const { return index_.count(key) != 0; }
  /// Number of entries.
  std::size_t size() const { return items_.size(); }
  /// True if there are no entries.
  bool empty() const { return items_.empty(); }
  /// Removes every entry.
  void clear() {
    items_.clear();
    index_.clear();
  }

  /// First entry.
  const_iterator begin() const { return items_.begin(); }
  /// Past the last entry.
  const_iterator end() const { return items_.end(); }

 private:
  std::deque<Item> items_;                      // insertion order; never reallocated on insert
  std::unordered_map<Key, std::size_t> index_;  // key -> position in items_
};

}  // namespace voxgrad
