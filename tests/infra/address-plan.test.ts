import { fixedNlbIps, nlbReservations, NLB_SLOTS, privateSubnetCidrs, publicSubnetCidrs } from '../../infra/lib/address-plan';
import { cidrContains, cidrContainsIp, cidrHost, cidrsOverlap, cidrSubnet, isCidr, parseCidr } from '../../infra/lib/cidr';

describe('CIDR arithmetic', () => {
  test('accepts network addresses only', () => {
    expect(isCidr('10.1.0.0/16')).toBe(true);
    expect(isCidr('10.1.2.3/16')).toBe(false);
    expect(isCidr('10.1.0.0')).toBe(false);
    expect(isCidr('300.1.0.0/16')).toBe(false);
    expect(isCidr('10.1.0.0/33')).toBe(false);
    expect(parseCidr('0.0.0.0/0')).toEqual({ base: 0, prefix: 0 });
  });

  test('detects overlaps and containment in both directions', () => {
    expect(cidrsOverlap('10.0.0.0/16', '10.0.255.0/24')).toBe(true);
    expect(cidrsOverlap('10.0.255.0/24', '10.0.0.0/16')).toBe(true);
    expect(cidrsOverlap('10.0.0.0/16', '10.1.0.0/16')).toBe(false);
    expect(cidrsOverlap('10.64.0.0/10', '10.127.0.0/16')).toBe(true);
    expect(cidrsOverlap('10.64.0.0/10', '10.128.0.0/16')).toBe(false);
    expect(cidrContains('10.64.0.0/10', '10.65.0.0/16')).toBe(true);
    expect(cidrContains('10.65.0.0/16', '10.64.0.0/10')).toBe(false);
    expect(cidrContainsIp('192.168.0.0/16', '192.168.10.20')).toBe(true);
    expect(cidrContainsIp('192.168.0.0/16', '192.169.0.1')).toBe(false);
  });

  test('splits and numbers like cidrsubnet/cidrhost, refusing reserved hosts', () => {
    expect(cidrSubnet('10.0.0.0/16', 4, 0)).toBe('10.0.0.0/20');
    expect(cidrSubnet('10.0.0.0/16', 4, 15)).toBe('10.0.240.0/20');
    expect(() => cidrSubnet('10.0.0.0/16', 4, 16)).toThrow(/no subnet #16/);
    expect(cidrHost('10.0.16.0/20', 10)).toBe('10.0.16.10');
    expect(() => cidrHost('10.0.16.0/28', 3)).toThrow(/reserved/);
    expect(() => cidrHost('10.0.16.0/28', 15)).toThrow(/reserved/);
  });
});

describe('address plan', () => {
  test('private and public subnets never overlap and sit inside the VPC', () => {
    for (const vpc of ['10.0.0.0/16', '10.70.0.0/20', '172.16.5.0/24']) {
      const subnets = [...privateSubnetCidrs(vpc, 4), ...publicSubnetCidrs(vpc, 4)];
      for (const s of subnets) expect(cidrContains(vpc, s)).toBe(true);
      subnets.forEach((a, i) => subnets.slice(i + 1).forEach((b) => expect(cidrsOverlap(a, b)).toBe(false)));
    }
  });

  test('each NLB slot gets its own usable address in every subnet', () => {
    const subnets = privateSubnetCidrs('172.16.5.0/24', 2);
    const slots = [0, 1, 2].map((slot) => fixedNlbIps(subnets, slot));
    expect(slots[0]).toEqual(['172.16.5.10', '172.16.5.26']);
    expect(new Set(slots.flat()).size).toBe(6);
    slots.forEach((ips) => ips.forEach((ip, i) => expect(cidrContainsIp(subnets[i], ip)).toBe(true)));
  });

  test('the fixed addresses sit in reserved blocks that keep clear of the addresses AWS keeps', () => {
    expect(nlbReservations('10.0.16.0/20')).toEqual(['10.0.16.8/29']);
    // A /28 subnet's last address (.15) is AWS's: two smaller blocks instead.
    expect(nlbReservations('172.16.5.16/28')).toEqual(['172.16.5.24/30', '172.16.5.28/31']);
    for (const subnet of ['10.0.16.0/20', '172.16.5.16/28']) {
      for (const slot of Object.values(NLB_SLOTS)) {
        const [ip] = fixedNlbIps([subnet], slot);
        expect(nlbReservations(subnet).some((block) => cidrContainsIp(block, ip))).toBe(true);
      }
    }
    expect(() => fixedNlbIps(['172.16.5.16/28'], 4)).toThrow(/outside the reserved addresses of subnet 172\.16\.5\.16\/28/);
  });
});
