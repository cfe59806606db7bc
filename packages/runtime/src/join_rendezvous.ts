// World.join's way to the job's rendezvous, a module of its own so that
// package.json's "browser" map can swap it for rendezvous_browser.ts: a
// page's bundle then leaves @collective/rendezvous (its stores need
// sockets and files) out.
export { type Rendezvous, rendezvous } from '@collective/rendezvous';
