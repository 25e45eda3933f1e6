#include "voxgrad/distributed/environment.h"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "voxgrad/core/error.h"
#include "voxgrad/distributed/detail/mpi.h"

namespace voxgrad::distributed {

namespace {

struct State {
  bool initialized = false;
  bool finalized = false;  // MPI cannot be initialised twice in a process
  bool mpi = false;
  int rank = 0;
  int size = 1;
  int local_rank = 0;
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  std::terminate_handler previous_terminate = nullptr;
  std::shared_ptr<ProcessGroup> world;
};

State& state() {
  static State s;
  return s;
}

bool has_env(const char* name) { return std::getenv(name) != nullptr; }

// An uncaught exception on one rank would leave the others waiting in a collective: abort the job.
[[noreturn]] void terminate_handler() {
  std::string what = "std::terminate called";
  if (std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      what = std::string("uncaught exception: ") + ex.what();
    } catch (...) {
      what = "uncaught exception of unknown type";
    }
  }
  abort_job(what.c_str());
}

std::chrono::milliseconds timeout_from_env(std::chrono::milliseconds fallback) {
  const char* v = std::getenv("VOXGRAD_DIST_TIMEOUT");
  if (v == nullptr) return fallback;
  char* end = nullptr;
  const double seconds = std::strtod(v, &end);
  VOXGRAD_CHECK(end != v && *end == '\0' && seconds > 0,
                "distributed::init: VOXGRAD_DIST_TIMEOUT must be a positive number of seconds, got '{}'", v);
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0));
}

}  // namespace

namespace detail {

std::mutex& mpi_mutex() {
  static std::mutex m;
  return m;
}

void check_mpi(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, text, &len);
  throw Error(fmt::format("distributed: {} failed on rank {}: {}", what, state().rank, std::string(text, len)));
}

}  // namespace detail

bool launched_by_mpi() {
  return has_env("OMPI_COMM_WORLD_SIZE") || has_env("PMIX_RANK") || has_env("PMI_RANK") ||
         (has_env("SLURM_STEP_NUM_TASKS") && has_env("SLURM_PROCID"));
}

void init(const InitOptions& options) {
  State& s = state();
  if (s.initialized) return;
  VOXGRAD_CHECK(!s.finalized, "distributed::init: the runtime was finalized in this process; MPI cannot start twice");
  VOXGRAD_CHECK(options.timeout.count() > 0, "distributed::init: timeout must be positive, got {} ms",
                options.timeout.count());
  s.timeout = timeout_from_env(options.timeout);
  s.mpi = launched_by_mpi();
  if (s.mpi) {
    int already = 0;
    MPI_Initialized(&already);
    if (!already) {
      int provided = 0;
      detail::check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
      VOXGRAD_CHECK(provided >= MPI_THREAD_SERIALIZED,
                    "distributed::init: this MPI library provides thread level {}, voxgrad needs "
                    "MPI_THREAD_SERIALIZED ({})",
                    provided, static_cast<int>(MPI_THREAD_SERIALIZED));
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &s.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &s.size);
    MPI_Comm node;
    detail::check_mpi(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, s.rank, MPI_INFO_NULL, &node),
                      "MPI_Comm_split_type");
    MPI_Comm_rank(node, &s.local_rank);
    MPI_Comm_free(&node);
    s.previous_terminate = std::set_terminate(terminate_handler);
    s.world = detail::make_mpi_group(MPI_COMM_WORLD, s.timeout);
  }
  s.initialized = true;
}

void finalize() {
  State& s = state();
  if (!s.initialized) return;
  if (s.mpi) {
    std::set_terminate(s.previous_terminate);
    MPI_Finalize();
  }
  s = State{};
  s.finalized = true;
}

bool is_initialized() { return state().initialized; }
int rank() { return state().rank; }
int world_size() { return state().size; }
int local_rank() { return state().local_rank; }
std::chrono::milliseconds timeout() { return state().timeout; }

std::shared_ptr<ProcessGroup> default_group() {
  static const std::shared_ptr<ProcessGroup> local = make_local_group();
  return state().world ? state().world : local;
}

void abort_job(const char* message, int exit_code) {
  std::fprintf(stderr, "voxgrad.distributed: rank %d of %d: %s; aborting all ranks\n", state().rank, state().size,
               message);
  std::fflush(stderr);
  int up = 0, down = 0;
  MPI_Initialized(&up);
  MPI_Finalized(&down);
  if (up && !down) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

InitGuard::InitGuard(const InitOptions& options) { init(options); }

InitGuard::~InitGuard() {
  if (std::uncaught_exceptions() > 0 && world_size() > 1) {
    abort_job("an exception is leaving the scope of distributed::InitGuard");
  }
  finalize();
}

}  // namespace voxgrad::distributed
