// Our sessions against BIRD 2, FRR 8.4, GoBGP 3 and ExaBGP 4 in namespaces (root).

import { requireRoot } from '../../src/lab/index.js';
import { InteropLab, waitFor } from './peers.js';
import { OurSide } from './us.js';

const OUR_AS = 65001;

describe('bgp session interop (root)', function () {
  this.timeout(60_000);
  let lab: InteropLab;
  let us: OurSide;

  before(async function () {
    requireRoot(this);
    this.timeout(60_000);
    lab = await InteropLab.create({
      frr: { kind: 'frr', as: 65010, ourAs: OUR_AS },
    });
    us = new OurSide(lab);
  });
  after(async () => {
    await us?.close();
    await lab?.teardown();
  });

  it('FRR: Established with us active', async () => {
    const { session, events } = await us.session('frr');
    await waitFor('Established', 20_000, () => (session.state === 'Established' ? true : undefined));
    await waitFor('FRR Established', 10_000, () =>
      lab.peerState('frr') === 'Established' ? true : undefined,
    );
    console.log(JSON.stringify(lab.frrNeighbor('frr'), null, 1).slice(0, 4000));
    console.log(events.established[0]);
    await us.stop(session, 'maintenance by trellis test');
    await new Promise((r) => setTimeout(r, 500));
    const n = lab.frrNeighbor('frr');
    console.log(JSON.stringify(n).match(/"last[^,]*,/g));
  });
});
