#include "voxgrad/data/data_loader.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <thread>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/core/error.h"

namespace voxgrad::data {

namespace {

// The stream the order of an epoch is drawn from (index -1 is no sample's).
constexpr std::int64_t kShuffleStream = -1;

struct Slot {
  std::optional<Batch> batch;
  std::exception_ptr error;
};

}  // namespace

// Everything an epoch's workers and its consumer share. Workers claim batch numbers in order while
// fewer than `bound_` are claimed but not yet taken; the consumer takes batch `taken_` when it is ready.
class EpochState {
 public:
  EpochState(std::shared_ptr<const Dataset> dataset, const DataLoaderOptions& options, std::int64_t epoch,
             std::vector<std::int64_t> order, std::int64_t num_batches)
      : dataset_(std::move(dataset)),
        options_(options),
        epoch_(epoch),
        order_(std::move(order)),
        num_batches_(num_batches),
        // workers · prefetch_factor, saturated (a huge prefetch factor means no bound).
        bound_(options.prefetch_factor() >
                       std::numeric_limits<std::int64_t>::max() / std::max<std::int64_t>(1, options.workers())
                   ? std::numeric_limits<std::int64_t>::max()
                   : options.workers() * options.prefetch_factor()) {
    for (std::int64_t w = 0; w < options.workers(); ++w) workers_.emplace_back([this] { work(); });
  }

  ~EpochState() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  std::optional<Batch> next() {
    if (taken_ >= num_batches_) return std::nullopt;
    Slot slot;
    if (workers_.empty()) {
      slot = build(taken_);
    } else {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return ready_.count(taken_) != 0; });
      slot = std::move(ready_.at(taken_));
      ready_.erase(taken_);
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++taken_;
    }
    changed_.notify_all();
    if (slot.error) std::rethrow_exception(slot.error);
    return std::move(slot.batch);
  }

 private:
  void work() {
    for (;;) {
      std::int64_t b = 0;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return stop_ || claimed_ >= num_batches_ || claimed_ - taken_ < bound_; });
        if (stop_ || claimed_ >= num_batches_) return;
        b = claimed_++;
      }
      Slot slot = build(b);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ready_.emplace(b, std::move(slot));
      }
      changed_.notify_all();
    }
  }

  // Batch `b`, or the exception building it raised (named after the sample). Never throws.
  Slot build(std::int64_t b) {
    NoGradGuard no_grad;
    const std::int64_t n = static_cast<std::int64_t>(order_.size());
    const std::int64_t begin = b * options_.batch_size();
    const std::int64_t end = begin + std::min(n - begin, options_.batch_size());
    Slot slot;
    std::vector<Example> examples;
    Batch batch;
    std::int64_t index = -1;
    try {
      for (std::int64_t k = begin; k < end; ++k) {
        if (stop_flag()) return slot;  // the epoch is being destroyed: nobody will take this batch
        index = order_[static_cast<std::size_t>(k)];
        Generator rng = sample_generator(options_.seed(), epoch_, index);
        examples.push_back(dataset_->get(index, rng));
        batch.indices.push_back(index);
      }
      index = -1;
      batch.data = collate(examples);
      slot.batch = std::move(batch);
    } catch (const std::exception& e) {
      const std::string where = index >= 0 ? fmt::format("sample {}", index) : std::string("collating");
      slot.error = std::make_exception_ptr(
          Error(fmt::format("DataLoader: {} (batch {} of epoch {}): {}", where, b, epoch_, e.what())));
    } catch (...) {
      slot.error = std::make_exception_ptr(
          Error(fmt::format("DataLoader: sample {} (batch {} of epoch {}): unknown exception", index, b, epoch_)));
    }
    return slot;
  }

  bool stop_flag() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stop_;
  }

  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
  std::int64_t epoch_;
  std::vector<std::int64_t> order_;
  std::int64_t num_batches_;
  std::int64_t bound_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::int64_t, Slot> ready_;
  std::int64_t claimed_ = 0, taken_ = 0;
  bool stop_ = false;
  std::vector<std::thread> workers_;  // last: started after every other member is initialised
};

Epoch::Epoch(std::unique_ptr<EpochState> state) : state_(std::move(state)) {}
Epoch::Epoch(Epoch&&) noexcept = default;
Epoch& Epoch::operator=(Epoch&&) noexcept = default;
Epoch::~Epoch() = default;

std::optional<Batch> Epoch::next() {
  VOXGRAD_CHECK(state_ != nullptr, "Epoch::next: the epoch was moved from");
  return state_->next();
}

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(options) {
  VOXGRAD_CHECK(dataset_ != nullptr, "DataLoader: the dataset is null");
  VOXGRAD_CHECK(options_.batch_size() >= 1, "DataLoader: batch_size must be at least 1, but got {}",
                options_.batch_size());
  VOXGRAD_CHECK(options_.workers() >= 0, "DataLoader: workers must be non-negative, but got {}", options_.workers());
  VOXGRAD_CHECK(options_.prefetch_factor() >= 1, "DataLoader: prefetch_factor must be at least 1, but got {}",
                options_.prefetch_factor());
}

std::int64_t DataLoader::num_batches() const { return num_batches(dataset_->size()); }

std::int64_t DataLoader::num_batches(std::int64_t n) const {
  const std::int64_t b = options_.batch_size();
  return n / b + (!options_.drop_last() && n % b != 0 ? 1 : 0);  // no n + b - 1: b may be near INT64_MAX
}

std::vector<std::int64_t> DataLoader::order(std::int64_t epoch) const {
  const std::int64_t n = dataset_->size();
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  if (options_.shuffle()) {
    // Fisher-Yates; j uniform in [0, i] from the top 53 bits of a draw.
    Generator rng = sample_generator(options_.seed(), epoch, kShuffleStream);
    for (std::int64_t i = n - 1; i > 0; --i) {
      const auto j = static_cast<std::int64_t>(rng.next_double() * static_cast<double>(i + 1));
      std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
    }
  }
  return order;
}

Epoch DataLoader::epoch(std::int64_t epoch) const {
  return Epoch(std::make_unique<EpochState>(dataset_, options_, epoch, order(epoch), num_batches()));
}

Epoch DataLoader::epoch(std::int64_t epoch, std::vector<std::int64_t> indices) const {
  const std::int64_t n = dataset_->size();
  for (std::size_t k = 0; k < indices.size(); ++k) {
    VOXGRAD_CHECK(indices[k] >= 0 && indices[k] < n,
                  "DataLoader::epoch: index {} (entry {} of the given indices) is out of range for a dataset of {} "
                  "examples",
                  indices[k], k, n);
  }
  const std::int64_t batches = num_batches(static_cast<std::int64_t>(indices.size()));
  return Epoch(std::make_unique<EpochState>(dataset_, options_, epoch, std::move(indices), batches));
}

}  // namespace voxgrad::data
