#pragma once

// MPI stays out of the public headers: only distributed/*.cpp include this.
#include <mpi.h>

#include <chrono>
#include <memory>
#include <mutex>

#include "voxgrad/distributed/process_group.h"

namespace voxgrad::distributed::detail {

/// Serialises every MPI call of the process (MPI is initialised with MPI_THREAD_SERIALIZED).
std::mutex& mpi_mutex();

/// Throws voxgrad::Error naming `what` and MPI's message unless `code` is MPI_SUCCESS.
void check_mpi(int code, const char* what);

/// The process group over MPI_COMM_WORLD; collectives that wait longer than `timeout` abort the job.
std::shared_ptr<ProcessGroup> make_mpi_group(MPI_Comm comm, std::chrono::milliseconds timeout);

}  // namespace voxgrad::distributed::detail
