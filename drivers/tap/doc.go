// Package tap is the Linux TAP/TUN driver: it attaches ustack to a kernel
// network interface through /dev/net/tun, so that frames the kernel sends
// out of that interface arrive in ustack, and frames ustack transmits
// arrive in the kernel as if received on it.
//
// A TAP device carries Ethernet frames (netdev.LinkEthernet); ustack has
// its own MAC on the link, distinct from the kernel side's. A TUN device
// carries bare IP packets (netdev.LinkIP).
//
// The descriptor keeps working when the interface is moved into another
// network namespace (`ip link set DEV netns NS`): the file belongs to the
// opener, the interface to whichever namespace holds it. One ustack
// process can thus hold interfaces whose kernel sides live in different
// namespaces. Configure the kernel side (SetUp, MTU) in Open, before the
// move: the ioctls name the interface in the opener's namespace.
//
// Read before editing: the kernel's Documentation/networking/tuntap.rst
// and drivers/net/tun.c (tun_set_iff, tun_get_user, tun_put_user);
// include/uapi/linux/virtio_net.h for the vnet header.
package tap
