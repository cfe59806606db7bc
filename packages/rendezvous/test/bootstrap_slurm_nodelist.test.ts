import { describe, expect, it } from 'vitest';
import { expandNodelist, expandTasksPerNode } from '@collective/rendezvous';

describe('Slurm hostlist expansion', () => {
  it.each([
    ['node[001-004,010]', ['node001', 'node002', 'node003', 'node004', 'node010']],
    ['gnode[10,20,25,37]', ['gnode10', 'gnode20', 'gnode25', 'gnode37']],
    ['a1,b[1-2],c', ['a1', 'b1', 'b2', 'c']],
    ['node[8-11]', ['node8', 'node9', 'node10', 'node11']],
    ['node[098-101]', ['node098', 'node099', 'node100', 'node101']],
    ['rack[1-2]-node[01-02]', ['rack1-node01', 'rack1-node02', 'rack2-node01', 'rack2-node02']],
    ['host.example.com', ['host.example.com']],
    ['n[1-2].ib,n[5]', ['n1.ib', 'n2.ib', 'n5']],
  ])('%s', (list, hosts) => {
    expect(expandNodelist(list)).toEqual(hosts);
  });

  it.each([
    ['node[1-', /unclosed '\['/],
    ['node1-2]', /unmatched '\]'/],
    ['node[4-2]', /range 4-2 .* runs backwards/],
    ['node[a-b]', /'a-b' .* is not a number or a range/],
    ['node[[1]]', /nested '\['/],
    ['', /must be a non-empty Slurm hostlist/],
    ['n[0-99999999]', /names more than \d+ hosts/],
  ])('refuses %j with a message saying what is wrong', (list, message) => {
    expect(() => expandNodelist(list, 'SLURM_STEP_NODELIST')).toThrow(message);
    if (list !== '') expect(() => expandNodelist(list, 'SLURM_STEP_NODELIST')).toThrow(/SLURM_STEP_NODELIST/);
  });

  it('expands tasks-per-node counts such as 2(x3),1', () => {
    expect(expandTasksPerNode('2(x3),1')).toEqual([2, 2, 2, 1]);
    expect(expandTasksPerNode('4')).toEqual([4]);
    expect(() => expandTasksPerNode('2(3)')).toThrow(/'2\(3\)' .* is not a count such as 2 or 2\(x3\)/);
  });
});
