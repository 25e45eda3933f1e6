#pragma once

#include <chrono>

namespace voxgrad::distributed {

/// How init() sets up the process.
struct InitOptions {
  /// How long a collective may wait for the other ranks before this rank gives up: it prints which
  /// operation timed out and aborts the whole job (MPI_Abort), so a failed or stuck rank never leaves
  /// the others hanging. The environment variable VOXGRAD_DIST_TIMEOUT (seconds) overrides it.
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
};

/// Starts the distributed runtime from what `mpirun` or `srun` provide (Open MPI's OMPI_COMM_WORLD_*,
/// PMIx or SLURM variables): initialises MPI and makes the MPI world the default process group. A
/// program not launched by a launcher runs as world size 1 without MPI. Idempotent. After init, an
/// exception escaping main on any rank aborts the whole job (std::terminate -> MPI_Abort), and a rank
/// that exits without finalize() makes mpirun stop the others.
void init(const InitOptions& options = {});
/// Ends the MPI session (collective: every rank must call it); idempotent.
void finalize();
/// True between init() and finalize().
bool is_initialized();
/// True if this process was started by mpirun/srun with more than one process in the job.
bool launched_by_mpi();
/// This process's rank in the world, 0 <= rank < world_size() (0 before init()).
int rank();
/// Number of processes in the world (1 before init() and without a launcher).
int world_size();
/// Rank among the processes on this host (for choosing a device or pinning threads).
int local_rank();
/// The collective timeout in effect (InitOptions::timeout or VOXGRAD_DIST_TIMEOUT).
std::chrono::milliseconds timeout();

/// Calls init() on construction and finalize() on destruction, for the top of main(). If the scope
/// is left by an exception, it aborts the job instead of finalizing, so the other ranks stop.
class InitGuard {
 public:
  /// Initialises with `options`.
  explicit InitGuard(const InitOptions& options = {});
  ~InitGuard();
  InitGuard(const InitGuard&) = delete;
  InitGuard& operator=(const InitGuard&) = delete;
};

/// Stops every rank of the job now, printing `message` (MPI_Abort); exits the process without MPI.
[[noreturn]] void abort_job(const char* message, int exit_code = 1);

}  // namespace voxgrad::distributed
