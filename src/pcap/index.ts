export type { CaptureSink, Direction } from './capture.js';
export { filterCapture } from './capture.js';
export type { ByteSink } from './sink.js';
export { MemorySink } from './sink.js';
export { PcapWriter, type PcapWriterOptions } from './pcap-writer.js';
export { PcapngWriter, type PcapngWriterOptions, type InterfaceOptions } from './pcapng-writer.js';
export { readCapture, type CaptureFile, type CaptureInterface, type CaptureRecord, type SectionInfo } from './reader.js';
export { DEFAULT_SNAPLEN, LINKTYPE_ETHERNET } from './format.js';
