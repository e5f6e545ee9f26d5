#!/usr/bin/env bash
# Builds the image the Potok image starts from when no registry can be reached: a minimal
# Debian bookworm made with debootstrap from Debian's packages, stripped of what a runtime
# does not need (apt, perl, docs, locales), then `docker import`ed as potok-base:bookworm.
# An existing image is reused; POTOK_REBUILD_BASE=1 builds it again.
set -euo pipefail
tag="${1:-potok-base:bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [ "${POTOK_REBUILD_BASE:-0}" != 1 ] && docker image inspect "$tag" >/dev/null 2>&1; then
    echo "$tag exists; POTOK_REBUILD_BASE=1 builds it again"
    exit 0
fi
if ! command -v debootstrap >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq debootstrap >/dev/null
fi

root=$(mktemp -d /var/tmp/potok-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$mirror"

# What only a package manager or a person at a console would use.
chroot "$root" dpkg --purge --force-remove-essential --force-depends \
    apt perl-base e2fsprogs >/dev/null 2>&1 || true
rm -rf "$root"/var/cache/* "$root"/var/lib/apt "$root"/var/log/* \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/usr/share/locale/* "$root"/usr/share/zoneinfo/right "$root"/tmp/*

tar -C "$root" -c . | docker import \
    --change 'CMD ["bash"]' \
    --change 'ENV LANG=C.UTF-8' \
    - "$tag"
docker image ls "$tag"
