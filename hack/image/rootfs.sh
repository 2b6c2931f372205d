#!/usr/bin/env bash
# The runtime image's base: a root filesystem assembled from Debian packages, in the spirit of
# distroless — the shared libraries Node's binary links against, the CA bundle, os-release and a
# non-root user, and nothing that runs: no shell, no package manager, no coreutils.
#
#   hack/image/rootfs.sh OUT.tar   # needs root, mmdebstrap and network access to Debian's archive
#
# Two kinds of packages (override with the environment, e.g. to try another suite):
# - ROTOR_IMAGE_LIBRARIES: extracted by mmdebstrap with their dependencies. `ldd` on Node 24's
#   binary names libc, libm, libdl, libpthread (libc6), libstdc++ and libgcc_s; Node carries
#   its own OpenSSL and ICU (with time zone data), so neither libssl3 nor tzdata is needed.
# - ROTOR_IMAGE_FILES: only their files, not their dependencies (ca-certificates would pull in
#   debconf, perl and openssl; base-files awk). Nothing of them is run, so nothing else is needed.
#
# mmdebstrap's --variant=extract unpacks packages without running any maintainer script, so what
# those scripts would have made is made here: the CA bundle, /etc/passwd and /etc/group, and a
# package list scanners read (/var/lib/dpkg/status.d, as distroless has it).
set -euo pipefail

out=${1:?usage: rootfs.sh OUT.tar}
suite=${ROTOR_IMAGE_SUITE:-bookworm}
libraries=${ROTOR_IMAGE_LIBRARIES:-libc6,libstdc++6,libgcc-s1}
files=${ROTOR_IMAGE_FILES:-base-files ca-certificates netbase}
work=$(mktemp -d "$(dirname "$out")/rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$work/debs"

# Runs inside mmdebstrap, after extraction, while its apt configuration (the suite's sources,
# with updates and security) and the downloaded packages are still there: keep each package's
# control fields, and fetch the file-only packages from the same sources.
extract_hook=$(cat <<'HOOK'
set -eu
cp "$1"/var/cache/apt/archives/*.deb "$ROTOR_DEBS"/
cd "$ROTOR_DEBS" && APT_CONFIG=$MMDEBSTRAP_APT_CONFIG apt-get download -q=2 $ROTOR_FILES 2>&1 |
  grep -v "couldn't be accessed by user '_apt'" >&2 || true
HOOK
)
ROTOR_DEBS=$work/debs ROTOR_FILES=$files mmdebstrap --quiet --mode=root --variant=extract \
  --include="$libraries" --extract-hook="$extract_hook" "$suite" "$root"

for package in $files; do
  deb=$(ls "$work/debs/${package}_"*.deb)
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$root" --no-same-owner
done

# The package list scanners (Trivy, Grype, Syft) read, one control file per package.
mkdir -p "$root/var/lib/dpkg/status.d"
for deb in "$work"/debs/*.deb; do
  package=$(dpkg-deb -f "$deb" Package)
  { dpkg-deb -f "$deb" Package Status Priority Section Installed-Size Maintainer Architecture \
      Multi-Arch Source Version Description Homepage
    echo "Status: install ok installed"; } | grep -v '^Status: *$' > "$root/var/lib/dpkg/status.d/$package"
done

# What ca-certificates' update-ca-certificates would have written.
mkdir -p "$root/etc/ssl/certs"
find "$root/usr/share/ca-certificates/mozilla" -name '*.crt' | LC_ALL=C sort | xargs cat \
  > "$root/etc/ssl/certs/ca-certificates.crt"

# Users and groups as distroless names them: root, nobody and nonroot (65532), whom Rotor runs as.
cat > "$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat > "$root/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
EOF
printf 'passwd: files\ngroup: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n' \
  > "$root/etc/nsswitch.conf"
install -d -m 0700 -o 65532 -g 65532 "$root/home/nonroot"

# Leave out what only a package manager, a shell user or a build would use, and the host's
# resolver and hostname that mmdebstrap copied in (the container runtime provides its own).
(cd "$root" && rm -rf dev/* etc/apt etc/fstab etc/hostname etc/resolv.conf etc/ca-certificates \
  etc/update-motd.d etc/profile.d etc/skel etc/issue etc/issue.net etc/default etc/dpkg/dpkg.cfg.d var/cache/apt \
  var/lib/apt var/log/* var/lib/dpkg/status var/lib/dpkg/arch var/lib/dpkg/info \
  var/lib/dpkg/alternatives var/lib/dpkg/triggers var/lib/dpkg/updates \
  usr/share/man usr/share/info usr/share/locale usr/share/lintian usr/share/gcc usr/share/gdb \
  usr/share/base-files usr/share/dict usr/share/ca-certificates usr/sbin/update-ca-certificates)
find "$root/usr/share/doc" -mindepth 2 -maxdepth 2 ! -name copyright -exec rm -rf {} +

# No program may be left: the only executables are the dynamic loader and shared libraries.
programs=$(cd "$root" && find . -type f -perm /111 ! -name '*.so*' ! -name 'ld-linux*' | LC_ALL=C sort)
if [ -n "$programs" ]; then
  echo "rootfs.sh: programs left in the base:" >&2
  echo "$programs" >&2
  exit 1
fi

tar -C "$root" --numeric-owner --sort=name -cf "$out.partial" .
mv "$out.partial" "$out"
