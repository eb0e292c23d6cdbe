import { model, Schema } from 'mongoose';

/**
 * One document per job system: the time the worker's recurring heartbeat job last ran. A system record,
 * not a merchant's: it holds no customer data. `/readyz` reads it to know jobs are being processed.
 */
export interface WorkerHeartbeat {
  _id: string;
  beatAt: Date;
  workerName: string;
}

const WorkerHeartbeatSchema = new Schema<WorkerHeartbeat>(
  {
    _id: { type: String, required: true },
    beatAt: { type: Date, required: true },
    workerName: { type: String, required: true },
  },
  { collection: 'worker_heartbeats', versionKey: false },
);

export const WorkerHeartbeatModel = model<WorkerHeartbeat>('WorkerHeartbeat', WorkerHeartbeatSchema);
