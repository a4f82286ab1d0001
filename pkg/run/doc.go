// Package run boots a bunix image on this machine the way urunc would,
// without urunc, containerd or a root daemon: it reads urunc's settings
// from the image (Load), takes the kernel, initrd, block image and rootfs
// out of it into a private directory, builds the monitor command line
// urunc builds for that guest, monitor and rootfs (Command), and runs the
// monitor with the guest's console on standard output (Exec).
//
// The command lines follow urunc's source, file by file; each builder
// names the file and the commit it was written from (urunc-dev/urunc,
// pkg/unikontainers/hypervisors/*.go for the monitors and
// pkg/unikontainers/unikernels/*.go for the guests). Where bunix must
// differ, it says so where it does: KVM may be replaced by TCG
// (Machine.Accel), a tap device by qemu's user-mode network (Machine.Net,
// for -p), and paths inside urunc's monitor rootfs by files in the
// private directory.
//
// What the image cannot carry comes from the Machine: memory and vCPUs
// (urunc takes them from the container spec and its own config), the
// network, the acceleration, and the architecture (amd64 now; arm64 is a
// later step and only changes the qemu binary, -M virt and the console).
package run
