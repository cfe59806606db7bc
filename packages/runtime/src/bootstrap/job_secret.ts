// The job secret is read in one place, the transport (its socket listener needs it too); the
// launchers and the store see it through here.
export { JOB_SECRET_ENV, JOB_SECRET_FILE_ENV, jobSecretFromEnv, newJobSecretText } from '@collective/transport';
