/**
 * Numbers of the two capture formats, from the pcap and pcapng specifications
 * (draft-ietf-opsawg-pcap, draft-ietf-opsawg-pcapng) as libpcap and Wireshark use them.
 */

/** LINKTYPE_ETHERNET (DLT_EN10MB): Ethernet II frames without preamble or FCS. */
export const LINKTYPE_ETHERNET = 1;

/** tcpdump's default snapshot length (MAXIMUM_SNAPLEN in libpcap). */
export const DEFAULT_SNAPLEN = 262144;

/** Classic pcap magic numbers, as read in the writer's byte order. */
export const PCAP_MAGIC_MICROS = 0xa1b2c3d4;
export const PCAP_MAGIC_NANOS = 0xa1b23c4d;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
export const PCAP_GLOBAL_HEADER_LENGTH = 24;
export const PCAP_RECORD_HEADER_LENGTH = 16;

/** pcapng block types. */
export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 0x00000001;
export const BT_SPB = 0x00000003;
export const BT_EPB = 0x00000006;

/** SHB byte-order magic, read in the section's byte order. */
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Option codes valid in every block. */
export const OPT_ENDOFOPT = 0;
export const OPT_COMMENT = 1;
/** SHB options. */
export const SHB_HARDWARE = 2;
export const SHB_OS = 3;
export const SHB_USERAPPL = 4;
/** IDB options. */
export const IF_NAME = 2;
export const IF_DESCRIPTION = 3;
export const IF_MACADDR = 6;
export const IF_TSRESOL = 9;
export const IF_TSOFFSET = 14;
/** EPB options. */
export const EPB_FLAGS = 2;

/** epb_flags bits 0-1: packet direction. */
export const EPB_FLAGS_INBOUND = 1;
export const EPB_FLAGS_OUTBOUND = 2;
