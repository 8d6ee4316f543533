# tools/debian-root.sh: sourced by tools/fresh-debian.sh and
# tools/deb-check.sh. A minimal Debian 12 root (debootstrap --variant=minbase
# bookworm) from the mirror this machine's apt uses, mounted for chroot
# (/proc, /sys, /dev of the host; a /run and a /tmp of its own), and
# unmounted again by debian_root_unmount, which the callers trap on EXIT.

# The mirror this machine's apt takes bookworm from: the first "deb URL
# bookworm ..." line of a .list file, else the URIs of the first enabled
# deb822 stanza (.sources) whose Suites name bookworm; deb.debian.org
# when neither does.
debian_mirror() {
  local url
  url=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1 == "deb" && / bookworm( |$)/ {
           for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit }
         }')
  [ -n "$url" ] || url=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
    awk 'BEGIN { RS = ""; FS = "\n" }
         { uri = ""; suite = 0; off = 0
           for (i = 1; i <= NF; i++) {
             if ($i ~ /^URIs:/) { split($i, w, /[ \t]+/); uri = w[2] }
             if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) suite = 1
             if ($i ~ /^Enabled:[ \t]*no/) off = 1
           }
           if (suite && !off && uri != "") { print uri; exit }
         }')
  echo "${url:-http://deb.debian.org/debian}"
}

# debian_root_bootstrap DIR LOG: debootstrap's minimal bookworm into DIR,
# its output in LOG (the end of it on stderr if it fails).
debian_root_bootstrap() {
  local dir=$1 log=$2 mirror
  mirror=$(debian_mirror)
  command -v debootstrap >/dev/null || "$(dirname "${BASH_SOURCE[0]}")/deps.sh" debootstrap
  echo "debian-root: debootstrap --variant=minbase bookworm $dir $mirror"
  if ! debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    return 1
  fi
}

debian_root_mounts=()

# debian_root_mount DIR: makes DIR ready for chroot. DIR becomes a mount
# point of its own, as / is on a real machine: `ip netns exec` and
# `unshare --propagation private` (specs use both) change the propagation
# of /, which fails on a plain directory.
debian_root_mount() {
  local dir=$1 m
  mount --bind "$dir" "$dir"
  debian_root_mounts+=("$dir")
  mount --make-private "$dir"
  for m in proc sys dev dev/pts; do
    mount --bind "/$m" "$dir/$m"
    debian_root_mounts+=("$dir/$m")
  done
  for m in run tmp; do
    mount -t tmpfs tmpfs "$dir/$m"
    debian_root_mounts+=("$dir/$m")
  done
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
}

# Unmounts what debian_root_mount mounted, the last first.
debian_root_unmount() {
  local i
  for ((i = ${#debian_root_mounts[@]} - 1; i >= 0; i--)); do
    umount -l "${debian_root_mounts[i]}" 2>/dev/null || true
  done
  debian_root_mounts=()
}

# The mount points at or under DIR, the deepest first.
debian_root_mounts_under() {
  awk -v d="$1" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r
}

# debian_root_remove DIR: unmounts what debian_root_mount mounted and what
# a debootstrap cut short left mounted (its /proc, /sys), then deletes DIR,
# but only once nothing is mounted under it: rm -rf through a bind mount
# of /dev or /sys would delete the host's.
debian_root_remove() {
  local dir=$1 m
  debian_root_unmount
  for m in $(debian_root_mounts_under "$dir"); do umount -l "$m" 2>/dev/null || true; done
  if [ -n "$(debian_root_mounts_under "$dir")" ]; then
    echo "debian-root: $dir still has mounts (see /proc/mounts); left in place" >&2
    return 1
  fi
  rm -rf --one-file-system "$dir"
}
