import { type EndpointAddress, TransportError } from '@collective/transport';
import type { CallProtocol } from './comm/call_protocol.js';
import type { CommState } from './comm/comm_state.js';
import { type DeviceArray, poolOffset } from './device_array.js';
import type { Registration } from './registration/registrations.js';

/** What register() hands back: proof that a buffer is registered, for deregister(). */
export interface BufferRegistration {
  readonly bytes: number;
}

/** The registrations behind the handles register() gave out: a handle shows the user no internals. */
const registrations = new WeakMap<BufferRegistration, Registration>();

/** Registers the device buffer holding `data` now (the caller checked the communicator is usable). */
export function registerBuffer(s: CommState, protocol: CallProtocol, data: DeviceArray): BufferRegistration {
  poolOffset(s.pool, data, 'data');
  const reg = protocol.registration(data, 'data');
  const handle: BufferRegistration = { bytes: reg.bytes };
  registrations.set(handle, reg);
  return handle;
}

/** Lets go of the registration behind `handle`; peers drop their imports at their next call. */
export function deregisterBuffer(s: CommState, handle: BufferRegistration): void {
  const reg = registrations.get(handle);
  if (!reg) throw new TransportError('EINVAL', 'not a registration returned by register()');
  s.regs.deregister(reg);
}

/** This rank's endpoint address and the MR key of the buffer holding `data`, or undefined without net peers. */
export function netReachOf(s: CommState, protocol: CallProtocol, data: DeviceArray): { address: EndpointAddress; key: number } | undefined {
  poolOffset(s.pool, data, 'data');
  const reg = protocol.registration(data, 'data');
  const port = s.port;
  return port && reg.mr ? { address: port.address, key: reg.mr.key } : undefined;
}
