import type { MatchModule } from '../module.js';
import { tcpMatch, udpMatch } from './tcp.js';
import { icmpMatch } from './icmp.js';
import { multiportMatch } from './multiport.js';
import { commentMatch } from './comment.js';
import { markMatch } from './mark.js';
import { conntrackMatch, stateMatch } from './conntrack.js';
import { addrtypeMatch } from './addrtype.js';
import { setMatch } from './set.js';
import { statisticMatch } from './statistic.js';
import { recentMatch } from './recent.js';
import { physdevMatch } from './physdev.js';
import { nfacctMatch } from './nfacct.js';
import { rpfilterMatch } from './rpfilter.js';

/** The match extensions the model knows, by `-m` name. */
export const MATCHES: ReadonlyMap<string, MatchModule> = new Map<string, MatchModule>(
  [tcpMatch, udpMatch, icmpMatch, multiportMatch, commentMatch, markMatch, conntrackMatch, stateMatch, addrtypeMatch, setMatch, statisticMatch, recentMatch, physdevMatch, nfacctMatch, rpfilterMatch].map((m) => [m.name, m as MatchModule]),
);
