#!/usr/bin/env bash
# Installs the Debian 12 packages voxgrad needs, only if any is missing. Run as root (or with sudo).
set -euo pipefail

packages=(cmake g++ make libeigen3-dev libtbb-dev libfmt-dev libgtest-dev ccache nlohmann-json3-dev libcli11-dev libstb-dev
          clang-14 libclang-rt-14-dev lld-14  # clang, lld: the asan preset and its libFuzzer targets
          clang-format                 # clang-format 14: scripts/check_format.sh
          qemu-user                    # scripts/qemu_isa_check.sh: the conv tests on emulated CPUs
          libopenmpi-dev openmpi-bin   # distributed/ (data-parallel training over MPI)
          libnifti2-dev zlib1g-dev     # NIfTI volumes (io/nifti.cpp)
          python3-nibabel              # the NIfTI fixtures and the nibabel read-back test (tests/io)
          mricron-data)                # the Colin27 T1 (ch2.nii.gz, ch2bet.nii.gz): test_nifti, the brain example
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
  exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
