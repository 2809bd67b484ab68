// The production assembly: the real Rib, one PeerLink (BgpSession) per configured peer, the BGP
// listener for incoming connections, and kernel sync through RouteNetlink (with a LinkMonitor,
// so routes an interface took down with it come back when it is up again).
import type { Logger } from '../../src/log.js';
import { silentLogger } from '../../src/log.js';
import { LinkMonitor, RouteNetlink } from '../../src/netlink/index.js';
import type { SpeakerConfig } from '../config/index.js';
import { fromConfigPolicies } from '../policy/index.js';
import { Rib } from '../rib/index.js';
import { BgpListener } from '../transport/index.js';
import { PeerLink } from './peer-link.js';
import type { SessionFactory } from './ports.js';
import { BgpSpeaker } from './speaker.js';

export interface RunSpeakerOptions {
  readonly logger?: Logger;
  /** Network namespace file (/run/netns/NAME) for sockets and kernel routes; default: ours. */
  readonly netns?: string;
}

/**
 * A speaker running on real sessions; `stop` sends Cease to every peer (or, graceful, closes
 * the sessions with none: see BgpSpeaker.stop) and closes the listener.
 */
export interface RunningSpeaker {
  readonly speaker: BgpSpeaker;
  readonly rib: Rib;
  /** Listening port (useful when the config asked for port 0... which disables it: then undefined). */
  readonly listenPort: number | undefined;
  stop(opts?: { readonly graceful?: boolean }): Promise<void>;
}

/** Sessions over bgp/transport, fed into `rib`; `listener` takes incoming connections. */
export function peerLinkFactory(
  rib: Rib,
  listener: BgpListener | undefined,
  opts: RunSpeakerOptions,
): SessionFactory {
  return (peer, context) =>
    new PeerLink({
      peer,
      config: context.config,
      rib,
      restarting: context.restarting,
      events: context.events,
      ...(listener !== undefined && { listener }),
      ...(opts.netns !== undefined && { netns: opts.netns }),
      logger: opts.logger ?? silentLogger,
    });
}

/** Starts the speaker described by `config`: listener, RIB, sessions, kernel sync, control socket. */
export async function runSpeaker(
  config: SpeakerConfig,
  opts: RunSpeakerOptions = {},
): Promise<RunningSpeaker> {
  const rib = new Rib({
    routerId: config.routerId,
    localAs: config.localAs,
    ...(config.clusterId !== undefined && { clusterId: config.clusterId }),
    policies: fromConfigPolicies(config.policies),
  });
  const listener =
    config.listen.port === 0
      ? undefined
      : await BgpListener.open({
          address: config.listen.address,
          port: config.listen.port,
          ...(opts.netns !== undefined && { netns: opts.netns }),
        });
  const netns = opts.netns === undefined ? {} : { netnsPath: opts.netns };
  const routes = config.kernel.enabled ? RouteNetlink.open(netns) : undefined;
  let links: LinkMonitor | undefined;
  try {
    links = routes === undefined ? undefined : LinkMonitor.open({ ...netns, links: routes });
    const speaker = await BgpSpeaker.start({
      config,
      rib,
      createSession: peerLinkFactory(rib, listener, opts),
      ...(routes !== undefined && { routes, nextHops: routes }),
      ...(links !== undefined && { links }),
      ...(opts.logger !== undefined && { logger: opts.logger }),
    });
    return {
      speaker,
      rib,
      listenPort: listener?.port,
      async stop(stopOpts) {
        await speaker.stop(stopOpts);
        await listener?.close();
        links?.close();
        routes?.close();
      },
    };
  } catch (err) {
    await listener?.close();
    links?.close();
    routes?.close();
    throw err;
  }
}
