// What happens around a rotation, outside the upstream call: the workloads restarted after it (restartTargets) and
// the weekly windows scheduled renewals keep to (renewal.windows). Part of the ServiceAccountToken spec.
import { z } from 'zod';
import { objectName } from './common.ts';

/** The kinds a restart target may name; Rollout is Argo Rollouts' argoproj.io/v1alpha1 Rollout. */
export const RESTART_TARGET_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Rollout'] as const;
export type RestartTargetKind = (typeof RESTART_TARGET_KINDS)[number];

/** metav1.LabelSelector for workloads, with the API server's own rules on operators and values. */
export const workloadSelector = z
  .object({
    matchLabels: z
      .record(z.string().max(317), z.string().max(63))
      .optional()
      .meta({ description: 'Labels a workload must all have.' }),
    matchExpressions: z
      .array(
        z
          .object({
            key: z.string().min(1).max(317).meta({ description: 'Label key.' }),
            operator: z
              .enum(['In', 'NotIn', 'Exists', 'DoesNotExist'])
              .meta({ description: 'How key relates to values.' }),
            values: z
              .array(z.string().max(63))
              .max(64)
              .optional()
              .meta({ description: 'Values for In and NotIn; none for Exists and DoesNotExist.' }),
          })
          .refine(
            (e) => (e.operator === 'In' || e.operator === 'NotIn' ? (e.values?.length ?? 0) > 0 : !e.values?.length),
            'In and NotIn need values; Exists and DoesNotExist take none',
          )
          .meta({
            description: 'A label selector requirement.',
            'x-kubernetes-validations': [
              {
                rule: "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
                message: 'In and NotIn need values; Exists and DoesNotExist take none',
              },
            ],
          }),
      )
      .max(16)
      .optional()
      .meta({ description: 'Label selector requirements, ANDed.' }),
  })
  .refine(
    (s) => Object.keys(s.matchLabels ?? {}).length + (s.matchExpressions?.length ?? 0) > 0,
    'an empty selector would select every workload of the kind: name at least one label',
  )
  .meta({
    description: 'A Kubernetes label selector over the workloads of the kind, in this namespace.',
    'x-kubernetes-validations': [
      {
        rule: '(has(self.matchLabels) && size(self.matchLabels) > 0) || (has(self.matchExpressions) && size(self.matchExpressions) > 0)',
        message: 'an empty selector would select every workload of the kind: name at least one label',
      },
    ],
  });

export const restartTarget = z
  .object({
    kind: z.enum(RESTART_TARGET_KINDS).meta({
      description:
        'Kind of the workload: Deployment, StatefulSet, DaemonSet (apps/v1) or Rollout (Argo Rollouts, argoproj.io/v1alpha1, restarted through spec.restartAt).',
    }),
    name: objectName('Name of the workload, in the namespace of this ServiceAccountToken.').optional(),
    selector: workloadSelector.optional(),
  })
  .refine((t) => (t.name === undefined) !== (t.selector === undefined), 'set exactly one of name and selector')
  .meta({
    description:
      'A workload restarted (rollout restart) after each rotation, by name or by label selector (every match of the kind in this namespace).',
    'x-kubernetes-validations': [
      { rule: 'has(self.name) != has(self.selector)', message: 'set exactly one of name and selector' },
    ],
  });

const weekday = z.enum(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']);
export const WEEKDAYS = weekday.options;
export type Weekday = z.infer<typeof weekday>;
const CLOCK_TIME = '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$';

/** Whether the runtime knows this IANA time zone (Intl, no tz database of our own). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export const renewalWindow = z
  .object({
    days: z.array(weekday).min(1).max(7).optional().meta({
      description: 'Days the window opens on (Mon, Tue, Wed, Thu, Fri, Sat, Sun), in timeZone. Default: every day.',
    }),
    start: z
      .string()
      .regex(new RegExp(CLOCK_TIME))
      .meta({ description: 'Local time the window opens, "HH:MM" (24-hour clock).' }),
    end: z.string().regex(new RegExp(CLOCK_TIME)).meta({
      description:
        'Local time the window closes, "HH:MM" or "24:00". Not after start: the window runs past midnight into the next day.',
    }),
    timeZone: z
      .string()
      .min(1)
      .max(64)
      .refine(isTimeZone, 'not a time zone this controller knows: use an IANA name such as Europe/Berlin or UTC')
      .default('UTC')
      .meta({ description: 'IANA time zone of start, end and days, e.g. Europe/Berlin. Default UTC.' }),
  })
  .refine((w) => w.start !== w.end, 'start and end must differ')
  .meta({
    description: 'A weekly time window in which scheduled renewals may happen.',
    'x-kubernetes-validations': [{ rule: 'self.start != self.end', message: 'start and end must differ' }],
  });
export type RenewalWindow = z.infer<typeof renewalWindow>;
