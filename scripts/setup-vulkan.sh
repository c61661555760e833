#!/usr/bin/env bash
# Installs a Vulkan driver that runs on the CPU (Mesa's lavapipe) where the machine has none:
# the tests of crates/kernels launch the project's CubeCL kernels through wgpu on it, so the
# kernels are checked here, on machines without a GPU. Idempotent; needs apt and root.
set -euo pipefail
if ls /usr/share/vulkan/icd.d/*.json >/dev/null 2>&1; then
    exit 0
fi
echo "setup-vulkan: installing mesa-vulkan-drivers (lavapipe) and the Vulkan loader" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q mesa-vulkan-drivers libvulkan1 >/dev/null
ls /usr/share/vulkan/icd.d/*.json >/dev/null 2>&1 || {
    echo "setup-vulkan: no Vulkan driver after the install (/usr/share/vulkan/icd.d is empty)" >&2
    exit 1
}
